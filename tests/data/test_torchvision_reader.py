"""torchvision datasets read from small files that the tests write in each dataset's real on-disk layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.data.torchvision_reader import check_torchvision, read_torchvision
from kdss_bench.errors import DataError
from tests.data.tiny_trees import (
    AIRCRAFT_VARIANTS,
    CARS_CLASSES,
    CIFAR100_TEST_LABELS,
    CIFAR100_TRAIN_LABELS,
    FASHION_TEST_LABELS,
    FASHION_TRAIN_LABELS,
    FLOWERS_LABELS,
    FLOWERS_SPLITS,
    flowers_md5s,
    write_aircraft,
    write_cars,
    write_cifar10,
    write_cifar100,
    write_dtd,
    write_fashion_mnist,
    write_flowers102,
    write_gtsrb,
)


def _close_to(values: torch.Tensor, expected: list[int], tolerance: int = 3) -> bool:
    """JPEG rounding moves a constant colour by a level or two."""
    return bool(((values.int() - torch.tensor(expected)).abs() <= tolerance).all())


# ---- CIFAR: python pickles in cifar-10-batches-py / cifar-100-python ----


def test_cifar10_batches_in_order_with_channel_planes(tmp_path: Path) -> None:
    train, test = write_cifar10(tmp_path)
    images = read_torchvision("cifar10", tmp_path, name="cifar10", resolution=32)
    assert images.classes[0] == "airplane" and images.num_classes == 10
    assert images.y_train.tolist() == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]
    assert images.y_test.tolist() == [9, 8, 7]
    assert torch.equal(images.x_train, torch.from_numpy(train))
    assert torch.equal(images.x_test, torch.from_numpy(test))


def test_cifar10_resized_and_missing_batch(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    assert read_torchvision("cifar10", tmp_path, name="c", resolution=16).x_train.shape == (10, 3, 16, 16)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        read_torchvision("cifar10", tmp_path, name="c", resolution=32)


def test_cifar10_corrupt_batch_is_a_data_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02truncated")
    with pytest.raises(DataError, match="cifar10"):
        read_torchvision("cifar10", tmp_path, name="cifar10", resolution=32)


def test_cifar100_fine_labels(tmp_path: Path) -> None:
    write_cifar100(tmp_path)
    images = read_torchvision("cifar100", tmp_path, name="cifar100", resolution=32)
    assert images.num_classes == 100 and images.classes[42] == "class_42"
    assert images.y_train.tolist() == CIFAR100_TRAIN_LABELS and images.y_test.tolist() == CIFAR100_TEST_LABELS


# ---- Fashion-MNIST: uncompressed idx files in FashionMNIST/raw ----


def test_fashion_mnist_idx_files(tmp_path: Path) -> None:
    x_train, _ = write_fashion_mnist(tmp_path)
    images = read_torchvision("fashion_mnist", tmp_path, name="fashion_mnist", resolution=28)
    assert images.classes[0] == "T-shirt/top" and images.num_classes == 10
    assert images.y_train.tolist() == FASHION_TRAIN_LABELS and images.y_test.tolist() == FASHION_TEST_LABELS
    for channel in range(3):
        assert torch.equal(images.x_train[:, channel], torch.from_numpy(x_train))
    assert read_torchvision("fashion_mnist", tmp_path, name="f", resolution=32).x_test.shape == (2, 3, 32, 32)


# ---- GTSRB: class folders of .ppm for training, a CSV for the final test set ----


def test_gtsrb_ppm_folders_and_test_csv(tmp_path: Path) -> None:
    write_gtsrb(tmp_path)
    images = read_torchvision("gtsrb", tmp_path, name="gtsrb", resolution=16)
    assert images.classes == ("00000", "00001", "00002")
    assert images.x_train.shape == (4, 3, 16, 16)
    assert images.y_train.tolist() == [0, 0, 1, 2] and images.y_test.tolist() == [2, 0]
    assert images.x_train[:, :, 5, 5].tolist() == [[v, v // 2, 255 - v] for v in (30, 40, 100, 200)]
    assert images.x_test[1, :, 0, 0].tolist() == [10, 5, 245]


# ---- DTD: images/<class>/*.jpg and labels/{train,val,test}1.txt ----


def test_dtd_partition1_train_plus_val(tmp_path: Path) -> None:
    write_dtd(tmp_path)
    images = read_torchvision("dtd", tmp_path, name="dtd", resolution=8)
    assert images.classes == ("banded", "zigzagged")
    assert len(images.y_train) == 4 and len(images.y_test) == 2  # train1 + val1 / test1
    assert images.y_train.tolist() == [0, 1, 0, 1] and images.y_test.tolist() == [0, 1]
    assert _close_to(images.x_train[:, 0, 4, 4], [20, 220, 21, 221])


# ---- FGVC-Aircraft: fgvc-aircraft-2013b/data with variant lists ----


def test_aircraft_variant_trainval_and_test(tmp_path: Path) -> None:
    write_aircraft(tmp_path)
    images = read_torchvision("aircraft", tmp_path, name="aircraft", resolution=8)
    assert images.classes == tuple(AIRCRAFT_VARIANTS)
    assert images.y_train.tolist() == [2, 1] and images.y_test.tolist() == [0]
    assert _close_to(images.x_test[0, :, 3, 3], [160, 80, 95])


# ---- Stanford Cars: torchvision's devkit layout with .mat annotations ----


def test_stanford_cars_devkit_mat_files(tmp_path: Path) -> None:
    write_cars(tmp_path)
    images = read_torchvision("cars", tmp_path, name="cars", resolution=8)
    assert images.classes == CARS_CLASSES
    assert images.y_train.tolist() == [1, 0] and images.y_test.tolist() == [0, 1]
    assert _close_to(images.x_train[:, 0, 2, 2], [30, 70])


# ---- Oxford Flowers-102: flowers-102/jpg, imagelabels.mat, setid.mat ----


def test_flowers102_train_plus_val_and_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import Flowers102

    write_flowers102(tmp_path)
    with pytest.raises(DataError, match="flowers102"):  # torchvision checks the md5 of the official .mat files
        read_torchvision("flowers102", tmp_path, name="flowers102", resolution=8)
    monkeypatch.setattr(Flowers102, "_file_dict", flowers_md5s(tmp_path))
    images = read_torchvision("flowers102", tmp_path, name="flowers102", resolution=8)
    train_ids = FLOWERS_SPLITS["trnid"] + FLOWERS_SPLITS["valid"]
    assert images.num_classes == 102 and images.classes[0] == "pink primrose"
    assert images.y_train.tolist() == [FLOWERS_LABELS[i - 1] - 1 for i in train_ids]
    assert images.y_test.tolist() == [FLOWERS_LABELS[i - 1] - 1 for i in FLOWERS_SPLITS["tstid"]]
    assert _close_to(images.x_test[:, 0, 4, 4], [30 * i for i in FLOWERS_SPLITS["tstid"]])


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
