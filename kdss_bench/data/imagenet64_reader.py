"""Reader for Downsampled ImageNet 64x64 (Chrabaszcz et al. 2017) in the official npz release's layout.

The folder given (``<data_root>/imagenet64`` for the built-in name) holds the npz files of the
official ``Imagenet64_train_part1_npz.zip``, ``Imagenet64_train_part2_npz.zip`` and
``Imagenet64_val_npz.zip`` (each zip keeps them in one folder: ``unzip -j`` them here, or let
``kdss-bench data prepare imagenet64`` do it)::

    <folder>/train_data_batch_1.npz ... train_data_batch_10.npz   1,281,167 images in all
    <folder>/val_data.npz                                         50,000 images
    <folder>/map_clsloc.txt                                       optional: '<wnid> <label> <name>' a line

Each npz holds ``data``: uint8 (N, 12288), every row three 64x64 planes one after the other (all
red, then all green, then all blue; each plane row by row), and ``labels``: N ints 1..1000; the
train files also hold ``mean`` (the mean image), which is not used (statistics are recomputed
from the train split at the suite resolution). 1000 classes: class ``k`` is label ``k + 1``. Its
name is the label number as a string (``'1'`` ... ``'1000'``) unless ``map_clsloc.txt`` (from
the ImageNet devkit, also shipped with the authors' Imagenet32_Scripts) is present, whose name for
that label is used (``kit_fox``; the WordNet id is appended to the two names ImageNet repeats).

The paper uses ImageNet-64 only as a distillation source (train split; the KRR-ST code has no
test loader and monitors on the train split); ``val_data.npz`` is exposed as the test split
all the same. Nothing is downloaded.

Memory: the whole train split is kept in memory, 1,281,167 x 3 x R x R bytes: 15.7 GB at 64 px
(3.9 GB at 32 px), plus 0.6 GB (0.15 GB) for val. The batch files are streamed one at a time
into one preallocated uint8 tensor at the target resolution (each file resized as it is read,
with the antialiased bilinear resize of :func:`kdss_bench.data.image_set.resize_images`), and
that tensor is kept without a further copy, so peak memory while loading is the result plus
one file (about 1.6 GB) plus a constant ~0.5 GB of resize and statistics buffers (measured on
10 x 5,000 images: 0.99 GB above the import baseline for a 0.59 GB result at 64 px).
Loaded sets are cached per process (see the registry); at 64 px a machine needs roughly 20 GB
of free RAM before training starts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kdss_bench.data.class_names import unique_class_names
from kdss_bench.data.image_set import ImageSet, build_image_set, resize_images
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource

SIDE = 64
ROW_BYTES = 3 * SIDE * SIDE  # 12288
NUM_CLASSES = 1000
TRAIN_FILES = tuple(f"train_data_batch_{k}.npz" for k in range(1, 11))
TEST_FILE = "val_data.npz"
CLASS_MAP = "map_clsloc.txt"
ARCHIVE_URL = "https://image-net.org/download-images.php (Downsampled ImageNet 64x64)"
_CHUNK = 8192  # images resized at once: a float copy of this many images, not of a whole file


def _extract_hint(root: Path) -> str:
    return (
        f"download Imagenet64_train_part1_npz.zip, Imagenet64_train_part2_npz.zip and Imagenet64_val_npz.zip "
        f"from {ARCHIVE_URL} and extract their npz files into {root} (unzip -j), giving {root / TRAIN_FILES[0]} ... "
        f"{TRAIN_FILES[-1]} and {TEST_FILE} (kdss-bench does not download them)"
    )


def check_imagenet64(root: Path, *, name: str) -> None:
    """Raise DataError unless ``root`` holds all ten train batch files and ``val_data.npz`` (reads none)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset '{name}': folder {root} not found; {_extract_hint(root)}")
    for file in (*TRAIN_FILES, TEST_FILE):
        if not (root / file).is_file():
            raise DataError(f"dataset '{name}': file {root / file} not found; {_extract_hint(root)}")


def read_imagenet64(root: Path, *, name: str, resolution: int) -> ImageSet:
    """Load Downsampled ImageNet 64x64 from ``root`` (holding the npz files); val is the test split."""
    root = Path(root)
    check_imagenet64(root, name=name)
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise DataError(f"dataset '{name}': resolution must be a positive integer, got {resolution!r}")
    classes = _class_names(root, name)
    arrays: list[Any] = []
    for files in (TRAIN_FILES, (TEST_FILE,)):
        # First the labels of every file (small), to size the one tensor the pixels are streamed into.
        labels = [_read_labels(root / file, name) for file in files]
        images = torch.empty((sum(len(y) for y in labels), 3, resolution, resolution), dtype=torch.uint8)
        start = 0
        for file, file_labels in zip(files, labels, strict=True):
            stop = start + len(file_labels)
            _fill(root / file, images[start:stop], name)
            start = stop
        arrays += [images, np.concatenate(labels) - 1]
    return build_image_set(name, *arrays, classes, resolution, copy=False)


def _open(path: Path, name: str) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(
            f"dataset '{name}': {path} cannot be read as an npz file ({error}); "
            "restore it from the official archive"
        ) from error


def _member(npz: Any, key: str, path: Path, name: str) -> np.ndarray:
    if key not in npz.files:
        raise DataError(
            f"dataset '{name}': {path} has no '{key}' (its keys: {', '.join(npz.files) or 'none'}); "
            "restore it from the official archive"
        )
    try:
        return npz[key]
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(
            f"dataset '{name}': {path} entry '{key}' cannot be read ({error}); restore it from the official archive"
        ) from error


def _read_labels(path: Path, name: str) -> np.ndarray:
    """The 1-based int64 labels of one file (only that entry of the npz is read)."""
    with _open(path, name) as npz:
        labels = _member(npz, "labels", path, name)
    labels = np.asarray(labels).ravel()
    if labels.dtype.kind not in "iu":
        raise DataError(
            f"dataset '{name}': {path} holds labels of dtype {labels.dtype}; expected integers 1..{NUM_CLASSES}"
        )
    if labels.size == 0:
        raise DataError(f"dataset '{name}': {path} holds no labels; restore it from the official archive")
    low, high = int(labels.min()), int(labels.max())
    if low < 1 or high > NUM_CLASSES:
        raise DataError(
            f"dataset '{name}': {path} holds labels in [{low}, {high}]; the release's labels are 1..{NUM_CLASSES}"
        )
    return labels.astype(np.int64)


def _fill(path: Path, out: torch.Tensor, name: str) -> None:
    """Decode one file's ``data`` into ``out`` (n, 3, R, R), resizing per chunk; the file's array is
    dropped on return."""
    with _open(path, name) as npz:
        data = _member(npz, "data", path, name)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_BYTES:
        raise DataError(
            f"dataset '{name}': {path} holds data of dtype {data.dtype} and shape {data.shape}; expected uint8 "
            f"(N, {ROW_BYTES}) rows of three {SIDE}x{SIDE} planes (the Imagenet64 npz release)"
        )
    if data.shape[0] != out.shape[0]:
        raise DataError(
            f"dataset '{name}': {path} holds {data.shape[0]} images but {out.shape[0]} labels; "
            "restore it from the official archive"
        )
    images = torch.from_numpy(np.ascontiguousarray(data)).view(-1, 3, SIDE, SIDE)
    resolution = out.shape[-1]
    for start in range(0, images.shape[0], _CHUNK):
        out[start : start + _CHUNK] = resize_images(images[start : start + _CHUNK], resolution)


def _class_names(root: Path, name: str) -> list[str]:
    """Names from ``map_clsloc.txt`` when present, else the label numbers '1' ... '1000'."""
    path = root / CLASS_MAP
    if not path.is_file():
        return [str(label) for label in range(1, NUM_CLASSES + 1)]
    by_label: dict[int, tuple[str, str]] = {}
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            label = _label_field(fields, path, number, name)
            if label in by_label:
                raise DataError(
                    f"dataset '{name}': {path} line {number} repeats label {label}; list each label once"
                )
            by_label[label] = (fields[0], " ".join(fields[2:]))
    missing = [label for label in range(1, NUM_CLASSES + 1) if label not in by_label]
    if missing:
        raise DataError(
            f"dataset '{name}': {path} names {len(by_label)} of the {NUM_CLASSES} labels (label {missing[0]} "
            "is missing); restore it from the ImageNet devkit or delete it to name classes by number"
        )
    wnids = [by_label[label][0] for label in range(1, NUM_CLASSES + 1)]
    return unique_class_names([by_label[label][1] for label in range(1, NUM_CLASSES + 1)], wnids)


def _label_field(fields: list[str], path: Path, number: int, name: str) -> int:
    if len(fields) >= 3:
        try:
            label = int(fields[1])
        except ValueError:
            label = 0
        if 1 <= label <= NUM_CLASSES:
            return label
    raise DataError(
        f"dataset '{name}': {path} line {number} is {' '.join(fields)!r}; expected "
        f"'<wnid> <label 1..{NUM_CLASSES}> <name>' as in 'n02119789 1 kit_fox'"
    )


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_imagenet64(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_imagenet64(source.location, name=source.name, resolution=resolution)
