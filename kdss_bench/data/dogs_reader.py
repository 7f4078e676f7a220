"""Reader for Stanford Dogs in the official release's on-disk layout (torchvision has no reader).

The folder given (``<data_root>/dogs`` for the built-in name) is where the official
``images.tar`` and ``lists.tar`` were both extracted::

    <folder>/Images/<wnid>-<breed>/*.jpg    e.g. Images/n02085620-Chihuahua/n02085620_5927.jpg
    <folder>/train_list.mat                 MATLAB file: file_list (N x 1 cell of paths under Images/),
    <folder>/test_list.mat                  labels (N x 1, 1-based class index)

120 classes, official split (12,000 train / 8,580 test), in the order of the lists, as in the
KRR-ST code's loader. Class ``k`` (label ``k + 1`` in the lists) is the ``k``-th breed folder of
``Images/`` in sorted order; its name is the folder name without the WordNet id (``Chihuahua``).
Every listed path must lie in its label's folder, so a mislabelled list fails loudly.
``annotation.tar`` (bounding boxes) is not used. Nothing is downloaded. Every image is decoded
straight to R x R (see :mod:`kdss_bench.data.pil_resize`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.pil_resize import load_resized
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource

LIST_FILES = ("train_list.mat", "test_list.mat")
ARCHIVE_URL = "http://vision.stanford.edu/aditya86/ImageNetDogs/"


def _extract_hint(root: Path) -> str:
    return (
        f"download images.tar and lists.tar from {ARCHIVE_URL} and extract both into {root}, giving "
        f"{root / 'Images'}/ and {root / 'train_list.mat'} (kdss-bench does not download them)"
    )


def check_dogs(root: Path, *, name: str) -> None:
    """Raise DataError unless ``root`` holds ``Images/`` and both list files (nothing is read)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset '{name}': folder {root} not found; {_extract_hint(root)}")
    if not (root / "Images").is_dir():
        raise DataError(f"dataset '{name}': folder {root / 'Images'} not found; {_extract_hint(root)}")
    for file in LIST_FILES:
        if not (root / file).is_file():
            raise DataError(f"dataset '{name}': file {root / file} not found; {_extract_hint(root)}")


def read_dogs(root: Path, *, name: str, resolution: int) -> ImageSet:
    """Load Stanford Dogs from ``root`` (holding ``Images/`` and the ``*_list.mat`` files), official split."""
    root = Path(root)
    check_dogs(root, name=name)
    folders = sorted(
        p.name for p in (root / "Images").iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not folders:
        raise DataError(f"dataset '{name}': {root / 'Images'} has no breed folders; {_extract_hint(root)}")
    arrays: list[np.ndarray] = []
    for file in LIST_FILES:
        relatives, labels = _read_list(root / file, name)
        for relative, label in zip(relatives, labels, strict=True):
            folder = (PurePosixPath(relative).parts or ("",))[0]
            if not 1 <= label <= len(folders) or folders[label - 1] != folder:
                expected = folders[label - 1] if 1 <= label <= len(folders) else f"no folder ({len(folders)})"
                raise DataError(
                    f"dataset '{name}': {root / file} gives {relative!r} label {label}, but breed folder "
                    f"{label} of {root / 'Images'} in sorted order is {expected}; restore Images/ and "
                    "the list files from the same official release"
                )
        images = load_resized([root / "Images" / relative for relative in relatives], resolution)
        arrays += [images, np.asarray(labels, dtype=np.int64) - 1]
    classes = [folder.split("-", 1)[-1] for folder in folders]
    return build_image_set(name, *arrays, classes, resolution)


def _read_list(path: Path, name: str) -> tuple[list[str], list[int]]:
    """A ``*_list.mat`` file -> paths under ``Images/`` and 1-based labels, in file order."""
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as error:  # scipy's parser fails on bad files with many types (IndexError, MatReadError)
        first_line = (str(error).splitlines() or [""])[0]
        raise DataError(
            f"dataset '{name}': {path} cannot be read as a MATLAB file ({type(error).__name__}: "
            f"{first_line}); restore it from the official lists.tar"
        ) from error
    if "file_list" in mat:
        cells, suffix = mat["file_list"], ""
    elif "annotation_list" in mat:  # the key the KRR-ST loader reads: the same paths without '.jpg'
        cells, suffix = mat["annotation_list"], ".jpg"
    else:
        keys = ", ".join(key for key in mat if not key.startswith("__")) or "none"
        raise DataError(
            f"dataset '{name}': {path} has no 'file_list' (its keys: {keys}); "
            "restore it from the official lists.tar"
        )
    relatives = [_cell_string(item, path, name) + suffix for item in np.asarray(cells).ravel()]
    if "labels" not in mat:
        raise DataError(f"dataset '{name}': {path} has no 'labels'; restore it from the official lists.tar")
    raw = np.asarray(mat["labels"]).ravel()
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(raw == np.round(raw))):
        raise DataError(
            f"dataset '{name}': {path} holds labels of dtype {raw.dtype} that are not whole numbers; "
            "restore it from the official lists.tar"
        )
    labels = [int(v) for v in raw]
    if len(labels) != len(relatives):
        raise DataError(
            f"dataset '{name}': {path} lists {len(relatives)} files but {len(labels)} labels; "
            "restore it from the official lists.tar"
        )
    if not relatives:
        raise DataError(f"dataset '{name}': {path} lists no images; restore it from the official lists.tar")
    return relatives, labels


def _cell_string(item: Any, path: Path, name: str) -> str:
    """One cell of a MATLAB cell array of strings (a 1-element string array) -> str."""
    values = np.asarray(item).ravel()
    if values.size != 1 or values.dtype.kind not in "US":
        raise DataError(
            f"dataset '{name}': {path} has a file_list entry {item!r} that is not one string; "
            "restore it from the official lists.tar"
        )
    value = values[0]
    return value.decode() if isinstance(value, bytes) else str(value)


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_dogs(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_dogs(source.location, name=source.name, resolution=resolution)
