"""Tiny copies of every built-in torchvision and archive dataset, written in the real on-disk formats.

``write_<name>(folder)`` fills ``folder`` as that dataset's folder: the torchvision root for the
torchvision sets (``folder/cifar-10-batches-py/...``), the folder holding the extracted official
archive for the others (``folder/CUB_200_2011/...``). For the registry and ``data prepare`` that
folder is ``<root>/<name>``; :data:`WRITERS` maps every name to its writer. The reader tests use
these writers and their constants; the prepare tests write every set at once.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def photo(path: Path, value: int, size: tuple[int, int], fmt: str | None = None) -> None:
    """A constant-colour image file (value, value // 2, 255 - value); resizing keeps it constant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixel = np.array([value, value // 2, 255 - value], np.uint8)
    Image.fromarray(np.broadcast_to(pixel, (size[1], size[0], 3)).copy()).save(path, format=fmt, quality=100)


# ---- CIFAR: python pickles in cifar-10-batches-py / cifar-100-python ----

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_batch(path: Path, images: np.ndarray, labels: list[int], label_key: str) -> None:
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


def planes(n: int, seed: int) -> np.ndarray:
    """(n, 3, 32, 32) images with a distinct constant per channel, so channel order is checkable."""
    base = np.random.default_rng(seed).integers(0, 256, (n, 3, 1, 1), dtype=np.uint8)
    return np.broadcast_to(base, (n, 3, 32, 32)).copy()


def write_cifar10(root: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = planes(10, seed=1)
    for i in range(5):
        cifar_batch(folder / f"data_batch_{i + 1}", train[2 * i : 2 * i + 2], [i, (i + 5) % 10], "labels")
    test = planes(3, seed=2)
    cifar_batch(folder / "test_batch", test, [9, 8, 7], "labels")
    with open(folder / "batches.meta", "wb") as stream:
        pickle.dump({"label_names": CIFAR10_NAMES, "num_cases_per_batch": 10000, "num_vis": 3072}, stream, protocol=2)
    return train, test


CIFAR100_TRAIN_LABELS, CIFAR100_TEST_LABELS = [0, 99, 42, 1], [99, 0]


def write_cifar100(root: Path) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    cifar_batch(folder / "train", planes(4, 3), CIFAR100_TRAIN_LABELS, "fine_labels")
    cifar_batch(folder / "test", planes(2, 4), CIFAR100_TEST_LABELS, "fine_labels")
    names = [f"class_{i}" for i in range(100)]
    with open(folder / "meta", "wb") as stream:
        pickle.dump({"fine_label_names": names, "coarse_label_names": ["c"] * 20}, stream, protocol=2)


# ---- Fashion-MNIST: uncompressed idx files in FashionMNIST/raw ----


def idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


FASHION_TRAIN_LABELS, FASHION_TEST_LABELS = [0, 1, 2, 9, 3], [9, 0]


def write_fashion_mnist(root: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(5)
    x_train, x_test = rng.integers(0, 256, (5, 28, 28), np.uint8), rng.integers(0, 256, (2, 28, 28), np.uint8)
    idx(raw / "train-images-idx3-ubyte", x_train)
    idx(raw / "train-labels-idx1-ubyte", np.array(FASHION_TRAIN_LABELS))
    idx(raw / "t10k-images-idx3-ubyte", x_test)
    idx(raw / "t10k-labels-idx1-ubyte", np.array(FASHION_TEST_LABELS))
    return x_train, x_test


# ---- GTSRB: class folders of .ppm for training, a CSV for the final test set ----


def write_gtsrb(root: Path) -> None:
    base = root / "gtsrb"
    training = base / "GTSRB" / "Training"
    for cls, value, size in (("00000", 30, (29, 31)), ("00000", 40, (45, 40)), ("00002", 200, (33, 33))):
        folder = training / cls
        index = len(list(folder.glob("*.ppm"))) if folder.exists() else 0
        photo(folder / f"00000_{index:05d}.ppm", value, size, fmt="PPM")
        (folder / f"GT-{cls}.csv").write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n")
    (training / "00001").mkdir()
    photo(training / "00001" / "00000_00000.ppm", 100, (50, 52), fmt="PPM")
    test_images = base / "GTSRB" / "Final_Test" / "Images"
    photo(test_images / "00000.ppm", 120, (40, 44), fmt="PPM")
    photo(test_images / "00001.ppm", 10, (64, 60), fmt="PPM")
    (base / "GT-final_test.csv").write_text(
        "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
        "00000.ppm;40;44;5;5;35;39;2\n00001.ppm;64;60;5;5;59;55;0\n"
    )


# ---- DTD: images/<class>/*.jpg and labels/{train,val,test}1.txt ----


def write_dtd(root: Path) -> None:
    data = root / "dtd" / "dtd"
    listing: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for cls, value in (("banded", 20), ("zigzagged", 220)):
        for i, split in enumerate(("train", "val", "test")):
            name = f"{cls}_{i:04d}.jpg"
            photo(data / "images" / cls / name, value + i, (70 + 10 * i, 50))
            listing[split].append(f"{cls}/{name}")
    (data / "labels").mkdir()
    for split, lines in listing.items():
        (data / "labels" / f"{split}1.txt").write_text("\n".join(lines) + "\n")


# ---- FGVC-Aircraft: fgvc-aircraft-2013b/data with variant lists ----

AIRCRAFT_VARIANTS = ["707-320", "Cessna 172", "A320"]
AIRCRAFT_ROWS = {
    "trainval": [("0034309", "A320", 10), ("1025794", "Cessna 172", 90)],
    "test": [("2201", "707-320", 160)],
}


def write_aircraft(root: Path) -> None:
    data = root / "fgvc-aircraft-2013b" / "data"
    (data / "images").mkdir(parents=True)
    (data / "variants.txt").write_text("".join(f"{v}\n" for v in AIRCRAFT_VARIANTS))
    for split, items in AIRCRAFT_ROWS.items():
        lines = []
        for image_id, variant, value in items:
            photo(data / "images" / f"{image_id}.jpg", value, (120, 80))
            lines.append(f"{image_id} {variant}")
        (data / f"images_variant_{split}.txt").write_text("\n".join(lines) + "\n")


# ---- Stanford Cars: torchvision's devkit layout with .mat annotations ----

CARS_CLASSES = ("AM General Hummer SUV 2000", "Acura RL Sedan 2012")
CARS_TRAIN = [("00001.jpg", 2, 30), ("00002.jpg", 1, 70)]
CARS_TEST = [("00001.jpg", 1, 250), ("00002.jpg", 2, 5)]  # 2+: scipy squeezes a 1-item table to 0-d


def write_cars(root: Path) -> None:
    from scipy.io import savemat

    base = root / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    fields = [(f, "O") for f in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")]

    def annotations(path: Path, folder: str, items: list[tuple[str, int, int]]) -> None:
        table = np.zeros((1, len(items)), dtype=fields)
        for i, (fname, cls, value) in enumerate(items):
            photo(base / folder / fname, value, (90, 60))
            box = [np.array([[v]], np.uint16) for v in (1, 1, 80, 50)]
            table[0, i] = (*box, np.array([[cls]], np.uint8), np.array([fname]))
        savemat(str(path), {"annotations": table})

    annotations(base / "devkit" / "cars_train_annos.mat", "cars_train", CARS_TRAIN)
    annotations(base / "cars_test_annos_withlabels.mat", "cars_test", CARS_TEST)
    names = np.empty((1, 2), dtype=object)
    names[0, 0], names[0, 1] = CARS_CLASSES
    savemat(str(base / "devkit" / "cars_meta.mat"), {"class_names": names})


# ---- Oxford Flowers-102: flowers-102/jpg/image_NNNNN.jpg, imagelabels.mat, setid.mat ----

FLOWERS_LABELS = [1, 102, 5, 1, 77, 5, 102]  # 1-based, per image id 1..7
FLOWERS_SPLITS = {"trnid": [1, 2], "valid": [3, 4], "tstid": [5, 6, 7]}


def write_flowers102(root: Path) -> None:
    """Flowers-102 as torchvision reads it; torchvision also checks the md5 of the two .mat files, so
    readers of this copy need :func:`flowers_md5s` patched into ``Flowers102._file_dict``."""
    from scipy.io import savemat

    base = root / "flowers-102"
    for image_id in range(1, len(FLOWERS_LABELS) + 1):
        photo(base / "jpg" / f"image_{image_id:05d}.jpg", 30 * image_id, (40 + image_id, 30))
    savemat(str(base / "imagelabels.mat"), {"labels": np.array([FLOWERS_LABELS], np.uint8)})
    savemat(str(base / "setid.mat"), {key: np.array([ids], np.uint16) for key, ids in FLOWERS_SPLITS.items()})


def flowers_md5s(root: Path) -> dict[str, tuple[str, str]]:
    """``Flowers102._file_dict`` with the md5s of the tiny copy under ``root`` (tests monkeypatch it in)."""
    base = root / "flowers-102"
    digest = {name: hashlib.md5((base / name).read_bytes()).hexdigest() for name in ("imagelabels.mat", "setid.mat")}
    return {
        "image": ("102flowers.tgz", "52808999861908f626f3c1f4e79d11fa"),
        "label": ("imagelabels.mat", digest["imagelabels.mat"]),
        "setid": ("setid.mat", digest["setid.mat"]),
    }


# ---- CUB-200-2011: the official layout CUB_200_2011/{images.txt, ..., images/<class>/*.jpg} ----

CUB_CLASSES = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
# (image id, class id 1-based, is_train, grey value, (width, height)); ids deliberately not sorted by class.
CUB_IMAGES = [
    (1, 1, 1, 20, (20, 14)),
    (2, 1, 0, 40, (9, 12)),
    (3, 2, 1, 60, (16, 16)),
    (4, 3, 0, 80, (30, 18)),
    (5, 3, 1, 100, (12, 20)),
    (6, 2, 1, 120, (14, 11)),
    (7, 1, 1, 140, (10, 10)),
]


def cub_image_path(image_id: int, class_id: int) -> str:
    cls = CUB_CLASSES[class_id - 1]
    return f"{cls}/{cls.split('.', 1)[1]}_{image_id:04d}_{image_id + 700}.jpg"


def write_cub2011(root: Path) -> Path:
    """The official layout: <root>/CUB_200_2011/{images.txt, ..., images/<class>/*.jpg}; returns CUB_200_2011/."""
    base = root / "CUB_200_2011"
    for image_id, class_id, _, value, size in CUB_IMAGES:
        path = base / "images" / cub_image_path(image_id, class_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Constant colour (value, value // 2, 255 - value): resizing keeps it, the pixel names the file.
        # Image 5 is stored grey, as a few real CUB photos are.
        pixel = np.array([value, value // 2, 255 - value], np.uint8)
        array = np.broadcast_to(pixel, (size[1], size[0], 3)).copy()
        image = Image.fromarray(array[..., 0]) if image_id == 5 else Image.fromarray(array)
        image.save(path, format="JPEG", quality=100)
    (base / "images.txt").write_text("".join(f"{i} {cub_image_path(i, c)}\n" for i, c, *_ in CUB_IMAGES))
    # Label and split files are joined on the image id, not the line: write them in reverse order.
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, c, *_ in reversed(CUB_IMAGES)))
    (base / "train_test_split.txt").write_text("".join(f"{i} {t}\n" for i, _, t, *_ in reversed(CUB_IMAGES)))
    (base / "classes.txt").write_text("".join(f"{k} {name}\n" for k, name in enumerate(CUB_CLASSES, start=1)))
    (root / "attributes.txt").write_text("1 has_bill_shape::curved_(up_or_down)\n")  # also in the tarball
    return base


# ---- Stanford Dogs: Images/<wnid-breed>/*.jpg + *_list.mat ----

DOGS_FOLDERS = ["n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02116738-African_hunting_dog"]
# (folder index, image number, grey value, (width, height))
DOGS_TRAIN = [(0, 5927, 20, (20, 14)), (2, 101, 60, (9, 12)), (1, 77, 100, (16, 30)), (0, 12, 140, (12, 12))]
DOGS_TEST = [(1, 9, 180, (25, 17)), (2, 3, 220, (10, 13))]


def dogs_relative(folder: int, number: int) -> str:
    wnid = DOGS_FOLDERS[folder].split("-", 1)[0]
    return f"{DOGS_FOLDERS[folder]}/{wnid}_{number}.jpg"


def save_dogs_list(path: Path, entries: list[tuple[int, int, int, tuple[int, int]]], label_dtype=np.uint8) -> None:
    """The real files' structure: file_list and annotation_list are (N, 1) cells of 1-element string
    arrays, labels an (N, 1) numeric array of 1-based classes."""
    from scipy.io import savemat

    files = np.empty((len(entries), 1), dtype=object)
    annotations = np.empty((len(entries), 1), dtype=object)
    for row, (folder, number, _, _) in enumerate(entries):
        files[row, 0] = np.array([dogs_relative(folder, number)])
        annotations[row, 0] = np.array([dogs_relative(folder, number)[: -len(".jpg")]])
    labels = np.array([[folder + 1] for folder, *_ in entries], dtype=label_dtype)
    savemat(path, {"file_list": files, "annotation_list": annotations, "labels": labels})


def write_dogs(root: Path, label_dtype=np.uint8) -> Path:
    for folder, number, value, size in DOGS_TRAIN + DOGS_TEST:
        path = root / "Images" / dogs_relative(folder, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        pixel = np.array([value, value // 2, 255 - value], np.uint8)
        Image.fromarray(np.broadcast_to(pixel, (size[1], size[0], 3)).copy()).save(path, quality=100)
    save_dogs_list(root / "train_list.mat", DOGS_TRAIN, label_dtype)
    save_dogs_list(root / "test_list.mat", DOGS_TEST, label_dtype)
    return root


# ---- Tiny-ImageNet-200: the official zip's layout tiny-imagenet-200/... ----

# wnids.txt order (deliberately not sorted): the class order.
TINY_WNIDS = ["n03444034", "n01443537", "n02012849", "n03126707"]
TINY_WORDS = {
    "n01443537": "goldfish, Carassius auratus",
    "n03444034": "go-kart",
    "n02012849": "crane",  # two 'crane' synsets, as in ImageNet: the id is appended to tell them apart
    "n03126707": "crane",
}
# class index -> (R, G, B) of each of its train images; image 1 of class 1 is stored grey.
TINY_TRAIN = {0: [(200, 40, 10), (190, 60, 20)], 1: [(10, 220, 30)], 2: [(30, 30, 210), (60, 90, 120)],
              3: [(250, 5, 5)]}
# (file, class index, colour), in val_annotations.txt order.
TINY_VAL = [("val_0.JPEG", 2, (5, 100, 240)), ("val_1.JPEG", 0, (240, 120, 0)), ("val_2.JPEG", 1, (70, 70, 70))]


def jpeg(path: Path, colour: tuple[int, int, int], grey: bool = False, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.broadcast_to(np.array(colour, np.uint8), (size, size, 3)).copy()
    image = Image.fromarray(array[..., 0]) if grey else Image.fromarray(array)
    image.save(path, format="JPEG", quality=100, subsampling=0)


def write_tinyimagenet(root: Path) -> Path:
    base = root / "tiny-imagenet-200"
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text("".join(f"{w}\n" for w in TINY_WNIDS))
    # words.txt covers all of WordNet: other synsets before and after, tab-separated.
    lines = ["n00001740\tentity", *(f"{w}\t{TINY_WORDS[w]}" for w in sorted(TINY_WORDS)), "n15102894\tfirewood"]
    (base / "words.txt").write_text("\n".join(lines) + "\n")
    for label, colours in TINY_TRAIN.items():
        wnid = TINY_WNIDS[label]
        for number, colour in enumerate(colours):
            jpeg(base / "train" / wnid / "images" / f"{wnid}_{number}.JPEG", colour, grey=(label, number) == (1, 0))
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.JPEG\t0\t0\t7\t7\n")
    rows = []
    for file, label, colour in TINY_VAL:
        jpeg(base / "val" / "images" / file, colour)
        rows.append(f"{file}\t{TINY_WNIDS[label]}\t0\t1\t6\t7\n")
    (base / "val" / "val_annotations.txt").write_text("".join(rows))
    jpeg(base / "test" / "images" / "test_0.JPEG", (1, 2, 3))  # unlabelled: ignored
    return base


# ---- Downsampled ImageNet 64x64: the official npz release's files ----

IMAGENET64_TRAIN_FILES = [f"train_data_batch_{k}.npz" for k in range(1, 11)]
# 1-based labels per train file (sizes differ, as the real last file is shorter); 1000 is the last class.
IMAGENET64_TRAIN_LABELS = [[1, 1000], [5], [7, 2, 3], [9], [10], [11], [12], [13], [14], [999]]
IMAGENET64_VAL_LABELS = [3, 1000, 1]


def imagenet64_image(label: int, position: int) -> np.ndarray:
    """(3, 64, 64): red = label % 256, green = the image's position in its file, blue = 200 (constant)."""
    image = np.empty((3, 64, 64), np.uint8)
    image[0], image[1], image[2] = label % 256, position, 200
    return image


def save_imagenet64(path: Path, labels: list[int], *, train: bool, images: np.ndarray | None = None) -> None:
    """The release's keys and dtypes: data uint8 (N, 12288) channel-major rows, labels int64 1-based,
    and (train files) mean float64 (12288,)."""
    if images is None:
        images = np.stack([imagenet64_image(label, k) for k, label in enumerate(labels)])
    data = images.reshape(len(labels), 3 * 64 * 64)
    extra = {"mean": data.mean(axis=0)} if train else {}
    np.savez(path, data=data, labels=np.asarray(labels, dtype=np.int64), **extra)


def write_imagenet64(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for file, labels in zip(IMAGENET64_TRAIN_FILES, IMAGENET64_TRAIN_LABELS, strict=True):
        save_imagenet64(root / file, labels, train=True)
    save_imagenet64(root / "val_data.npz", IMAGENET64_VAL_LABELS, train=False)
    return root


WRITERS: dict[str, Callable[[Path], object]] = {
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
    "aircraft": write_aircraft,
    "cars": write_cars,
    "flowers102": write_flowers102,
    "gtsrb": write_gtsrb,
    "dtd": write_dtd,
    "fashion_mnist": write_fashion_mnist,
    "cub2011": write_cub2011,
    "dogs": write_dogs,
    "tinyimagenet": write_tinyimagenet,
    "imagenet64": write_imagenet64,
}
"""Every dataset ``kdss-bench data prepare`` handles -> the writer of its tiny copy."""
