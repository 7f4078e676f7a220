"""Readers for the torchvision datasets used at paper scale, from their standard on-disk layouts.

Nothing is downloaded unless ``download=True`` is asked for. Splits follow the official KRR-ST
code or, where it has none, the datasets' own conventions (each reader's docstring says which).
Photo datasets are decoded straight to R x R (see :mod:`kdss_bench.data.pil_resize`); CIFAR's
python pickles are read directly, in the exact format torchvision reads, because torchvision
insists on the md5 of the full release files.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.pil_resize import map_stacked, open_rgb, resize_rgb
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource

# torchvision dataset -> the folder torchvision keeps it in, under its root.
TORCHVISION_FOLDERS: dict[str, str] = {
    "cifar10": "cifar-10-batches-py",
    "cifar100": "cifar-100-python",
    "aircraft": "fgvc-aircraft-2013b",
    "cars": "stanford_cars",
    "flowers102": "flowers-102",
    "gtsrb": "gtsrb",
    "dtd": "dtd/dtd",
    "fashion_mnist": "FashionMNIST/raw",
}


def torchvision_folder(dataset: str, root: Path) -> Path:
    """The folder torchvision reads ``dataset`` from, under ``root``."""
    return Path(root) / TORCHVISION_FOLDERS[dataset]


def check_torchvision(dataset: str, root: Path, *, name: str, download: bool = False) -> None:
    """Raise DataError unless the dataset's folder exists (or it may be downloaded)."""
    if dataset not in TORCHVISION_FOLDERS:
        raise DataError(
            f"dataset '{name}': torchvision dataset '{dataset}' is not supported; use one of "
            f"{', '.join(TORCHVISION_FOLDERS)}"
        )
    folder = torchvision_folder(dataset, root)
    if not download and not folder.is_dir():
        raise DataError(
            f"dataset '{name}': folder {folder} not found; pass --download to fetch {dataset} or point "
            f"--data-root at the folder that holds {Path(root).name}/{TORCHVISION_FOLDERS[dataset]}"
        )


def read_torchvision(
    dataset: str, root: Path, *, name: str, resolution: int, download: bool = False
) -> ImageSet:
    """Load torchvision dataset ``dataset`` stored under ``root`` as an :class:`ImageSet`."""
    root = Path(root)
    check_torchvision(dataset, root, name=name, download=download)
    reader = _READERS[dataset]
    try:
        x_train, y_train, x_test, y_test, classes = reader(root, resolution, download)
    except _READ_ERRORS as error:
        first_line = (str(error).splitlines() or [""])[0]
        raise DataError(
            f"dataset '{name}': {dataset} under {root} cannot be read ({type(error).__name__}: "
            f"{first_line}); re-download it with --download or fix the files"
        ) from error
    return build_image_set(name, x_train, y_train, x_test, y_test, classes, resolution)


_READ_ERRORS = (
    RuntimeError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    EOFError,
    pickle.UnpicklingError,
)

Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]


def _read_cifar(root: Path, resolution: int, download: bool, *, hundred: bool) -> Splits:
    """CIFAR-10/100 python pickles: official train / test split (50,000 / 10,000)."""
    if download:
        from torchvision.datasets import CIFAR10, CIFAR100

        (CIFAR100 if hundred else CIFAR10)(str(root), train=True, download=True)
    folder = torchvision_folder("cifar100" if hundred else "cifar10", root)
    train_files = ["train"] if hundred else [f"data_batch_{i}" for i in range(1, 6)]
    test_files = ["test"] if hundred else ["test_batch"]
    meta_file, names_key = ("meta", "fine_label_names") if hundred else ("batches.meta", "label_names")
    label_key = "fine_labels" if hundred else "labels"

    def read_batches(files: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        images, labels = [], []
        for file in files:
            entry = _unpickle(folder / file)
            images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(entry[label_key], dtype=np.int64))
        return np.concatenate(images), np.concatenate(labels)

    x_train, y_train = read_batches(train_files)
    x_test, y_test = read_batches(test_files)
    classes = [str(c) for c in _unpickle(folder / meta_file)[names_key]]
    return x_train, y_train, x_test, y_test, classes


def _unpickle(path: Path) -> dict[str, Any]:
    # The CIFAR release is a pickle; torchvision reads it the same way. Only open trusted copies.
    if not path.is_file():
        raise DataError(
            f"CIFAR file {path} not found; pass --download or point --data-root at a complete copy"
        )
    with open(path, "rb") as stream:
        entry = pickle.load(stream, encoding="latin1")
    if not isinstance(entry, dict):
        raise DataError(f"CIFAR file {path} does not hold a dict; re-download it with --download")
    return entry


def _read_aircraft(root: Path, resolution: int, download: bool) -> Splits:
    """FGVC-Aircraft, variant level (100 classes), trainval / test as in the official code."""
    from torchvision.datasets import FGVCAircraft

    loader = partial(open_rgb, resolution=resolution)
    make = partial(FGVCAircraft, str(root), annotation_level="variant", download=download, loader=loader)
    train, test = make(split="trainval"), make(split="test")
    return (*_materialise([train], resolution), *_materialise([test], resolution), list(train.classes))


def _read_cars(root: Path, resolution: int, download: bool) -> Splits:
    """Stanford Cars (196 classes), official train / test (torchvision's devkit layout)."""
    from torchvision.datasets import StanfordCars

    loader = partial(open_rgb, resolution=resolution)
    train = StanfordCars(str(root), split="train", download=download, loader=loader)
    test = StanfordCars(str(root), split="test", download=download, loader=loader)
    return (
        *_materialise([train], resolution),
        *_materialise([test], resolution),
        [str(c) for c in train.classes],
    )


def _read_flowers(root: Path, resolution: int, download: bool) -> Splits:
    """Oxford Flowers-102: the official train AND val splits form our train split (2,040 images);
    test is the official test split (6,149). Fine-tuning has no model selection, so val is spare."""
    from torchvision.datasets import Flowers102

    loader = partial(open_rgb, resolution=resolution)
    make = partial(Flowers102, str(root), download=download, loader=loader)
    train_parts = [make(split="train"), make(split="val")]
    test = make(split="test")
    return (
        *_materialise(train_parts, resolution),
        *_materialise([test], resolution),
        list(Flowers102.classes),
    )


def _read_gtsrb(root: Path, resolution: int, download: bool) -> Splits:
    """GTSRB: official training images / final test set, whole frames resized (no ROI crop)."""
    from torchvision.datasets import GTSRB
    from torchvision.datasets.folder import find_classes

    train, test = (
        GTSRB(str(root), split="train", download=download),
        GTSRB(str(root), split="test", download=download),
    )
    classes, _ = find_classes(str(Path(root) / "gtsrb" / "GTSRB" / "Training"))
    return (*_materialise([train], resolution), *_materialise([test], resolution), classes)


def _read_dtd(root: Path, resolution: int, download: bool) -> Splits:
    """DTD partition 1: train1 + val1 form our train split, test1 is the test split."""
    from torchvision.datasets import DTD

    loader = partial(open_rgb, resolution=resolution)
    make = partial(DTD, str(root), partition=1, download=download, loader=loader)
    parts = {split: make(split=split) for split in ("train", "val", "test")}
    classes = parts["train"].classes
    for split, part in parts.items():
        if part.classes != classes:
            raise DataError(
                f"DTD under {root}: labels/{split}1.txt covers {len(part.classes)} classes but "
                f"train1.txt covers {len(classes)}; every split file must list images of every class"
            )
    train = _materialise([parts["train"], parts["val"]], resolution)
    return (*train, *_materialise([parts["test"]], resolution), list(classes))


def _read_fashion_mnist(root: Path, resolution: int, download: bool) -> Splits:
    """Fashion-MNIST idx files, official train / test (60,000 / 10,000), 28x28 grey."""
    from torchvision.datasets import FashionMNIST

    train = FashionMNIST(str(root), train=True, download=download)
    test = FashionMNIST(str(root), train=False, download=download)
    return (
        train.data.numpy(),
        train.targets.numpy(),
        test.data.numpy(),
        test.targets.numpy(),
        list(train.classes),
    )


def _materialise(parts: Sequence[Any], resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Index-based datasets yielding (PIL image, label) -> uint8 (N, R, R, 3) and int64 labels."""
    items = [(part, index) for part in parts for index in range(len(part))]
    labels = np.empty(len(items), dtype=np.int64)

    def load_one(position: int) -> np.ndarray:
        part, index = items[position]
        image, label = part[index]
        labels[position] = int(label)
        return resize_rgb(image, resolution)

    images = map_stacked(load_one, range(len(items)), resolution)
    return images, labels


_READERS: dict[str, Callable[[Path, int, bool], Splits]] = {
    "cifar10": partial(_read_cifar, hundred=False),
    "cifar100": partial(_read_cifar, hundred=True),
    "aircraft": _read_aircraft,
    "cars": _read_cars,
    "flowers102": _read_flowers,
    "gtsrb": _read_gtsrb,
    "dtd": _read_dtd,
    "fashion_mnist": _read_fashion_mnist,
}


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_torchvision(source.variant, source.location, name=source.name, download=download)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_torchvision(source.variant, source.location, name=source.name, resolution=resolution,
                            download=download)
