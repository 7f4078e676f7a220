"""Reader for image folders: ``<path>/train/<class>/*.png|jpg`` and ``<path>/test/<class>/*``.

Class indices come from the sorted train folder names, so the test split must not name a class
the train split lacks (its label would be meaningless). Hidden files and folders are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.pil_resize import is_image_file, load_resized
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource


def check_image_folder(path: Path, *, name: str) -> None:
    """Raise DataError unless ``path`` has ``train/`` and ``test/`` class folders (no image is decoded)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(
            f"dataset '{name}': folder {path} not found; fix the dataset's path or pass --data-root "
            "pointing at the folder that holds it"
        )
    for split in ("train", "test"):
        if not (path / split).is_dir():
            raise DataError(
                f"dataset '{name}': folder {path / split} not found; an imagefolder dataset needs "
                "train/<class>/ and test/<class>/ folders"
            )
    train_classes = _class_folders(path / "train", name)
    unknown = sorted(set(_class_folders(path / "test", name)) - set(train_classes))
    if unknown:
        raise DataError(
            f"dataset '{name}': {path / 'test'} has class folders not in train/ ({', '.join(unknown)}); "
            "add them to train/ or remove them from test/"
        )


def read_image_folder(path: Path, *, name: str, resolution: int) -> ImageSet:
    """Load an image-folder dataset, every image resized to ``resolution`` x ``resolution`` RGB."""
    path = Path(path)
    check_image_folder(path, name=name)
    classes = _class_folders(path / "train", name)
    x_train, y_train = _read_split(path / "train", classes, name, resolution, require_all=True)
    x_test, y_test = _read_split(path / "test", classes, name, resolution, require_all=False)
    return build_image_set(name, x_train, y_train, x_test, y_test, classes, resolution)


def _class_folders(split_dir: Path, name: str) -> list[str]:
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"dataset '{name}': {split_dir} has no class folders; put images in {split_dir}/<class>/"
        )
    return classes


def _read_split(
    split_dir: Path, classes: list[str], name: str, resolution: int, *, require_all: bool
) -> tuple[np.ndarray, np.ndarray]:
    index = {cls: i for i, cls in enumerate(classes)}
    paths: list[Path] = []
    labels: list[int] = []
    for cls in _class_folders(split_dir, name):
        files = sorted(p for p in (split_dir / cls).iterdir() if p.is_file() and is_image_file(p))
        if not files and require_all:
            raise DataError(
                f"dataset '{name}': class folder {split_dir / cls} has no images (.png, .jpg, ...); "
                "add images or remove the folder"
            )
        paths.extend(files)
        labels.extend([index[cls]] * len(files))
    if not paths:
        raise DataError(
            f"dataset '{name}': {split_dir} holds no images; add images under {split_dir}/<class>/"
        )
    return load_resized(paths, resolution), np.asarray(labels, dtype=np.int64)


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_image_folder(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_image_folder(source.location, name=source.name, resolution=resolution)
