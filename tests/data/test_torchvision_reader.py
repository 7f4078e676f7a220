"""torchvision datasets read from small files that the tests write in each dataset's real on-disk layout."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kdss_bench.data.torchvision_reader import check_torchvision, read_torchvision
from kdss_bench.errors import DataError


def _photo(path: Path, value: int, size: tuple[int, int], fmt: str | None = None) -> None:
    """A constant-colour image file (value, value // 2, 255 - value); resizing keeps it constant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixel = np.array([value, value // 2, 255 - value], np.uint8)
    Image.fromarray(np.broadcast_to(pixel, (size[1], size[0], 3)).copy()).save(path, format=fmt, quality=100)


def _close_to(values: torch.Tensor, expected: list[int], tolerance: int = 3) -> bool:
    """JPEG rounding moves a constant colour by a level or two."""
    return bool(((values.int() - torch.tensor(expected)).abs() <= tolerance).all())


# ---- CIFAR: python pickles in cifar-10-batches-py / cifar-100-python ----


def _cifar_batch(path: Path, images: np.ndarray, labels: list[int], label_key: str) -> None:
    entry = {
        "batch_label": f"batch {path.name}",
        label_key: labels,
        "data": images.reshape(len(images), 3 * 32 * 32),  # row-major R plane, G plane, B plane
        "filenames": [f"img_{i}.png" for i in range(len(labels))],
    }
    if label_key == "fine_labels":
        entry["coarse_labels"] = [0] * len(labels)
    with open(path, "wb") as stream:
        pickle.dump(entry, stream, protocol=2)


def _planes(n: int, seed: int) -> np.ndarray:
    """(n, 3, 32, 32) images with a distinct constant per channel, so channel order is checkable."""
    base = np.random.default_rng(seed).integers(0, 256, (n, 3, 1, 1), dtype=np.uint8)
    return np.broadcast_to(base, (n, 3, 32, 32)).copy()


def _write_cifar10(root: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = _planes(10, seed=1)
    for i in range(5):
        _cifar_batch(folder / f"data_batch_{i + 1}", train[2 * i : 2 * i + 2], [i, (i + 5) % 10], "labels")
    test = _planes(3, seed=2)
    _cifar_batch(folder / "test_batch", test, [9, 8, 7], "labels")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as stream:
        pickle.dump({"label_names": names, "num_cases_per_batch": 10000, "num_vis": 3072}, stream, protocol=2)
    return train, test


def test_cifar10_batches_in_order_with_channel_planes(tmp_path: Path) -> None:
    train, test = _write_cifar10(tmp_path)
    images = read_torchvision("cifar10", tmp_path, name="cifar10", resolution=32)
    assert images.classes[0] == "airplane" and images.num_classes == 10
    assert images.y_train.tolist() == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]
    assert images.y_test.tolist() == [9, 8, 7]
    assert torch.equal(images.x_train, torch.from_numpy(train))
    assert torch.equal(images.x_test, torch.from_numpy(test))


def test_cifar10_resized_and_missing_batch(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    assert read_torchvision("cifar10", tmp_path, name="c", resolution=16).x_train.shape == (10, 3, 16, 16)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        read_torchvision("cifar10", tmp_path, name="c", resolution=32)


def test_cifar10_corrupt_batch_is_a_data_error(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02truncated")
    with pytest.raises(DataError, match="cifar10"):
        read_torchvision("cifar10", tmp_path, name="cifar10", resolution=32)


def test_cifar100_fine_labels(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    _cifar_batch(folder / "train", _planes(4, 3), [0, 99, 42, 1], "fine_labels")
    _cifar_batch(folder / "test", _planes(2, 4), [99, 0], "fine_labels")
    names = [f"class_{i}" for i in range(100)]
    with open(folder / "meta", "wb") as stream:
        pickle.dump({"fine_label_names": names, "coarse_label_names": ["c"] * 20}, stream, protocol=2)
    images = read_torchvision("cifar100", tmp_path, name="cifar100", resolution=32)
    assert images.num_classes == 100 and images.classes[42] == "class_42"
    assert images.y_train.tolist() == [0, 99, 42, 1] and images.y_test.tolist() == [99, 0]


# ---- Fashion-MNIST: uncompressed idx files in FashionMNIST/raw ----


def _idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_idx_files(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(5)
    x_train, x_test = rng.integers(0, 256, (5, 28, 28), np.uint8), rng.integers(0, 256, (2, 28, 28), np.uint8)
    _idx(raw / "train-images-idx3-ubyte", x_train)
    _idx(raw / "train-labels-idx1-ubyte", np.array([0, 1, 2, 9, 3]))
    _idx(raw / "t10k-images-idx3-ubyte", x_test)
    _idx(raw / "t10k-labels-idx1-ubyte", np.array([9, 0]))
    images = read_torchvision("fashion_mnist", tmp_path, name="fashion_mnist", resolution=28)
    assert images.classes[0] == "T-shirt/top" and images.num_classes == 10
    assert images.y_train.tolist() == [0, 1, 2, 9, 3]
    for channel in range(3):
        assert torch.equal(images.x_train[:, channel], torch.from_numpy(x_train))
    assert read_torchvision("fashion_mnist", tmp_path, name="f", resolution=32).x_test.shape == (2, 3, 32, 32)


# ---- GTSRB: class folders of .ppm for training, a CSV for the final test set ----


def test_gtsrb_ppm_folders_and_test_csv(tmp_path: Path) -> None:
    base = tmp_path / "gtsrb"
    training = base / "GTSRB" / "Training"
    for cls, value, size in (("00000", 30, (29, 31)), ("00000", 40, (45, 40)), ("00002", 200, (33, 33))):
        folder = training / cls
        index = len(list(folder.glob("*.ppm"))) if folder.exists() else 0
        _photo(folder / f"00000_{index:05d}.ppm", value, size, fmt="PPM")
        (folder / f"GT-{cls}.csv").write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n")
    (training / "00001").mkdir()
    _photo(training / "00001" / "00000_00000.ppm", 100, (50, 52), fmt="PPM")
    test_images = base / "GTSRB" / "Final_Test" / "Images"
    _photo(test_images / "00000.ppm", 120, (40, 44), fmt="PPM")
    _photo(test_images / "00001.ppm", 10, (64, 60), fmt="PPM")
    (base / "GT-final_test.csv").write_text(
        "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
        "00000.ppm;40;44;5;5;35;39;2\n00001.ppm;64;60;5;5;59;55;0\n"
    )
    images = read_torchvision("gtsrb", tmp_path, name="gtsrb", resolution=16)
    assert images.classes == ("00000", "00001", "00002")
    assert images.x_train.shape == (4, 3, 16, 16)
    assert images.y_train.tolist() == [0, 0, 1, 2] and images.y_test.tolist() == [2, 0]
    assert images.x_train[:, :, 5, 5].tolist() == [[v, v // 2, 255 - v] for v in (30, 40, 100, 200)]
    assert images.x_test[1, :, 0, 0].tolist() == [10, 5, 245]


# ---- DTD: images/<class>/*.jpg and labels/{train,val,test}1.txt ----


def test_dtd_partition1_train_plus_val(tmp_path: Path) -> None:
    data = tmp_path / "dtd" / "dtd"
    listing = {"train": [], "val": [], "test": []}
    for cls, value in (("banded", 20), ("zigzagged", 220)):
        for i, split in enumerate(("train", "val", "test")):
            name = f"{cls}_{i:04d}.jpg"
            _photo(data / "images" / cls / name, value + i, (70 + 10 * i, 50))
            listing[split].append(f"{cls}/{name}")
    (data / "labels").mkdir()
    for split, lines in listing.items():
        (data / "labels" / f"{split}1.txt").write_text("\n".join(lines) + "\n")
    images = read_torchvision("dtd", tmp_path, name="dtd", resolution=8)
    assert images.classes == ("banded", "zigzagged")
    assert len(images.y_train) == 4 and len(images.y_test) == 2  # train1 + val1 / test1
    assert images.y_train.tolist() == [0, 1, 0, 1] and images.y_test.tolist() == [0, 1]
    assert _close_to(images.x_train[:, 0, 4, 4], [20, 220, 21, 221])


# ---- FGVC-Aircraft: fgvc-aircraft-2013b/data with variant lists ----


def test_aircraft_variant_trainval_and_test(tmp_path: Path) -> None:
    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    (data / "images").mkdir(parents=True)
    (data / "variants.txt").write_text("707-320\nCessna 172\nA320\n")
    rows = {
        "trainval": [("0034309", "A320", 10), ("1025794", "Cessna 172", 90)],
        "test": [("2201", "707-320", 160)],
    }
    for split, items in rows.items():
        lines = []
        for image_id, variant, value in items:
            _photo(data / "images" / f"{image_id}.jpg", value, (120, 80))
            lines.append(f"{image_id} {variant}")
        (data / f"images_variant_{split}.txt").write_text("\n".join(lines) + "\n")
    images = read_torchvision("aircraft", tmp_path, name="aircraft", resolution=8)
    assert images.classes == ("707-320", "Cessna 172", "A320")
    assert images.y_train.tolist() == [2, 1] and images.y_test.tolist() == [0]
    assert _close_to(images.x_test[0, :, 3, 3], [160, 80, 95])


# ---- Stanford Cars: torchvision's devkit layout with .mat annotations ----


def test_stanford_cars_devkit_mat_files(tmp_path: Path) -> None:
    scipy_io = pytest.importorskip("scipy.io")
    base = tmp_path / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    fields = [(f, "O") for f in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")]

    def annotations(path: Path, folder: str, items: list[tuple[str, int, int]]) -> None:
        table = np.zeros((1, len(items)), dtype=fields)
        for i, (fname, cls, value) in enumerate(items):
            _photo(base / folder / fname, value, (90, 60))
            box = [np.array([[v]], np.uint16) for v in (1, 1, 80, 50)]
            table[0, i] = (*box, np.array([[cls]], np.uint8), np.array([fname]))
        scipy_io.savemat(str(path), {"annotations": table})

    annotations(
        base / "devkit" / "cars_train_annos.mat", "cars_train", [("00001.jpg", 2, 30), ("00002.jpg", 1, 70)]
    )
    test_items = [("00001.jpg", 1, 250), ("00002.jpg", 2, 5)]  # 2+: scipy squeezes a 1-item table to 0-d
    annotations(base / "cars_test_annos_withlabels.mat", "cars_test", test_items)
    names = np.empty((1, 2), dtype=object)
    names[0, 0], names[0, 1] = "AM General Hummer SUV 2000", "Acura RL Sedan 2012"
    scipy_io.savemat(str(base / "devkit" / "cars_meta.mat"), {"class_names": names})
    images = read_torchvision("cars", tmp_path, name="cars", resolution=8)
    assert images.classes == ("AM General Hummer SUV 2000", "Acura RL Sedan 2012")
    assert images.y_train.tolist() == [1, 0] and images.y_test.tolist() == [0, 1]
    assert _close_to(images.x_train[:, 0, 2, 2], [30, 70])


# ---- errors ----


@pytest.mark.parametrize("dataset", ["cifar10", "aircraft", "flowers102", "gtsrb", "dtd", "fashion_mnist"])
def test_missing_folder_says_download_or_data_root(tmp_path: Path, dataset: str) -> None:
    with pytest.raises(DataError) as info:
        read_torchvision(dataset, tmp_path / "nothing", name=dataset, resolution=32)
    message = str(info.value)
    assert "--download" in message and "--data-root" in message and str(tmp_path / "nothing") in message


def test_unknown_torchvision_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cifar10, cifar100"):
        check_torchvision("imagenet", tmp_path, name="x")
