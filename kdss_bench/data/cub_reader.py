"""Reader for CUB-200-2011 birds in the official release's on-disk layout (torchvision has no reader).

The folder given (``<data_root>/cub2011`` for the built-in name) is the one that CONTAINS
``CUB_200_2011/``, exactly as extracting the official ``CUB_200_2011.tgz`` into it leaves it::

    <folder>/CUB_200_2011/images.txt             <image id> <path under images/>
    <folder>/CUB_200_2011/image_class_labels.txt <image id> <class id, 1-based>
    <folder>/CUB_200_2011/train_test_split.txt   <image id> <1 = train, 0 = test>
    <folder>/CUB_200_2011/classes.txt            <class id> <class name, e.g. 001.Black_footed_Albatross>
    <folder>/CUB_200_2011/images/<class name>/*.jpg

200 classes and the official split (5,994 train / 5,794 test images), as in the KRR-ST code's
loader; images keep the order of ``images.txt`` within each split and class names are the
``classes.txt`` names verbatim. Bounding boxes, parts and attributes are not used. Nothing is
downloaded. Every image is decoded straight to R x R (see :mod:`kdss_bench.data.pil_resize`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.pil_resize import load_resized
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource

FOLDER = "CUB_200_2011"
INDEX_FILES = ("images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt")
ARCHIVE_URL = "https://www.vision.caltech.edu/datasets/cub_200_2011/"


def _extract_hint(root: Path) -> str:
    return (
        f"download CUB_200_2011.tgz from {ARCHIVE_URL} and extract it into {root}, giving "
        f"{root / FOLDER / 'images.txt'} (kdss-bench does not download it)"
    )


def check_cub(root: Path, *, name: str) -> None:
    """Raise DataError unless ``root/CUB_200_2011`` holds the index files and ``images/`` (reads none)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset '{name}': folder {root} not found; {_extract_hint(root)}"
        )
    base = root / FOLDER
    for file in INDEX_FILES:
        if not (base / file).is_file():
            raise DataError(f"dataset '{name}': file {base / file} not found; {_extract_hint(root)}")
    if not (base / "images").is_dir():
        raise DataError(f"dataset '{name}': folder {base / 'images'} not found; {_extract_hint(root)}")


def read_cub(root: Path, *, name: str, resolution: int) -> ImageSet:
    """Load CUB-200-2011 from ``root`` (the folder containing ``CUB_200_2011/``), official split."""
    root = Path(root)
    check_cub(root, name=name)
    base = root / FOLDER
    class_rows = _read_pairs(base / "classes.txt", name)
    class_ids = [_as_int(base / "classes.txt", f"line {line}", value, name) for line, value, _ in class_rows]
    if class_ids != list(range(1, len(class_ids) + 1)):
        raise DataError(
            f"dataset '{name}': {base / 'classes.txt'} must list class ids 1, 2, ... in order; "
            f"it lists {_preview(class_ids)}"
        )
    classes = [class_name for _, _, class_name in class_rows]
    paths = _by_image_id(base / "images.txt", name)
    labels = _by_image_id(base / "image_class_labels.txt", name)
    is_train = _by_image_id(base / "train_test_split.txt", name)
    for file, table in (("image_class_labels.txt", labels), ("train_test_split.txt", is_train)):
        missing = [image_id for image_id in paths if image_id not in table]
        if missing:
            raise DataError(
                f"dataset '{name}': {base / file} has no entry for image ids {_preview(missing)} "
                "listed in images.txt; restore the file from the official archive"
            )

    splits: dict[bool, tuple[list[Path], list[int]]] = {True: ([], []), False: ([], [])}
    for image_id, relative in paths.items():
        label = _as_int(base / "image_class_labels.txt", f"image {image_id}", labels[image_id], name)
        if not 1 <= label <= len(classes):
            raise DataError(
                f"dataset '{name}': {base / 'image_class_labels.txt'} gives image {image_id} class {label}, "
                f"but classes.txt has classes 1-{len(classes)}"
            )
        flag = is_train[image_id]
        if flag not in ("0", "1"):
            raise DataError(
                f"dataset '{name}': {base / 'train_test_split.txt'} gives image {image_id} the value "
                f"{flag!r}; use 1 (train) or 0 (test)"
            )
        files, targets = splits[flag == "1"]
        files.append(base / "images" / relative)
        targets.append(label - 1)

    arrays = []
    for train in (True, False):
        files, targets = splits[train]
        if not files:
            raise DataError(
                f"dataset '{name}': {base / 'train_test_split.txt'} marks no image as "
                f"{'train (1)' if train else 'test (0)'}; restore the file from the official archive"
            )
        arrays += [load_resized(files, resolution), np.asarray(targets, dtype=np.int64)]
    return build_image_set(name, *arrays, classes, resolution)


def _read_pairs(path: Path, name: str) -> list[tuple[int, str, str]]:
    """Non-blank lines of ``<key> <value>`` -> (line number, key, value); the value may hold spaces."""
    rows = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            text = line.strip()
            if not text:
                continue
            parts = text.split(maxsplit=1)
            if len(parts) != 2:
                raise DataError(
                    f"dataset '{name}': {path} line {number} is {text!r}; expected '<id> <value>'"
                )
            rows.append((number, parts[0], parts[1]))
    return rows


def _by_image_id(path: Path, name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for number, key, value in _read_pairs(path, name):
        if key in table:
            raise DataError(f"dataset '{name}': {path} line {number} repeats image id {key}; list each once")
        table[key] = value
    return table


def _as_int(path: Path, where: str, value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"dataset '{name}': {path} has {value!r} ({where}) where an integer is expected"
        ) from None


def _preview(values: list) -> str:
    shown = ", ".join(str(v) for v in values[:5])
    return shown + (f", ... ({len(values)} in all)" if len(values) > 5 else "")


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_cub(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_cub(source.location, name=source.name, resolution=resolution)
