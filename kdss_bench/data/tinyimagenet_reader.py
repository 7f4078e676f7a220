"""Reader for Tiny-ImageNet-200 in the official release's on-disk layout (torchvision has no reader).

The folder given (``<data_root>/tinyimagenet`` for the built-in name) is the one that CONTAINS
``tiny-imagenet-200/``, exactly as extracting the official ``tiny-imagenet-200.zip`` into it leaves it::

    <folder>/tiny-imagenet-200/wnids.txt                    the 200 class WordNet ids, one a line
    <folder>/tiny-imagenet-200/words.txt                    <wnid> TAB <names, comma-separated> (all of WordNet)
    <folder>/tiny-imagenet-200/train/<wnid>/images/*.JPEG   500 images per class
    <folder>/tiny-imagenet-200/val/images/*.JPEG            10,000 labelled images
    <folder>/tiny-imagenet-200/val/val_annotations.txt      <file> TAB <wnid> TAB <x0 y0 x1 y1 box>
    <folder>/tiny-imagenet-200/test/images/*.JPEG           unlabelled; not used

200 classes, 100,000 train / 10,000 test images, 64x64 (a few stored grey; they become RGB).
Class ``k`` is the ``k``-th id of ``wnids.txt`` (the file's order, not sorted); its name is the
first name ``words.txt`` gives that id (``goldfish``), with the id appended where two classes
would share a name. Train images are read class by class, each class's files in sorted name
order; test images in the order of ``val_annotations.txt``. Bounding boxes are not used.

The test split is the labelled ``val`` split: the official ``test`` images have no labels, and
the KRR-ST code reads pre-made tensors whose "test" split is presumably this val split
[NOT VERIFIED] (reference brief, section 3). Nothing is downloaded. Every image is decoded and
resized to R x R (see :mod:`kdss_bench.data.pil_resize`); at R = 64 no resizing happens. The
whole set at 64 px holds about 1.2 GB of uint8 pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdss_bench.data.class_names import unique_class_names
from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.pil_resize import is_image_file, load_resized
from kdss_bench.errors import DataError

if TYPE_CHECKING:
    from kdss_bench.data.registry import DatasetSource

FOLDER = "tiny-imagenet-200"
INDEX_FILES = ("wnids.txt", "words.txt", "val/val_annotations.txt")
FOLDERS = ("train", "val/images")
ARCHIVE_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def _extract_hint(root: Path) -> str:
    return (
        f"download tiny-imagenet-200.zip from {ARCHIVE_URL} and extract it into {root}, giving "
        f"{root / FOLDER / 'wnids.txt'} (kdss-bench does not download it)"
    )


def check_tinyimagenet(root: Path, *, name: str) -> None:
    """Raise DataError unless ``root/tiny-imagenet-200`` holds the index files, ``train/`` and
    ``val/images/`` (reads none of them)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset '{name}': folder {root} not found; {_extract_hint(root)}")
    base = root / FOLDER
    for file in INDEX_FILES:
        if not (base / file).is_file():
            raise DataError(f"dataset '{name}': file {base / file} not found; {_extract_hint(root)}")
    for folder in FOLDERS:
        if not (base / folder).is_dir():
            raise DataError(f"dataset '{name}': folder {base / folder} not found; {_extract_hint(root)}")


def read_tinyimagenet(root: Path, *, name: str, resolution: int) -> ImageSet:
    """Load Tiny-ImageNet-200 from ``root`` (the folder containing ``tiny-imagenet-200/``); the
    labelled val split is the test split."""
    root = Path(root)
    check_tinyimagenet(root, name=name)
    base = root / FOLDER
    wnids = _read_wnids(base / "wnids.txt", name)
    index = {wnid: k for k, wnid in enumerate(wnids)}
    classes = unique_class_names(_first_names(base / "words.txt", wnids, name), wnids)

    train_files: list[Path] = []
    train_labels: list[int] = []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        if not folder.is_dir():
            raise DataError(
                f"dataset '{name}': folder {folder} for class {wnid} (listed in wnids.txt) not found; "
                f"{_extract_hint(root)}"
            )
        files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
        if not files:
            raise DataError(f"dataset '{name}': {folder} holds no images; {_extract_hint(root)}")
        train_files += files
        train_labels += [label] * len(files)

    annotations = base / "val" / "val_annotations.txt"
    test_files: list[Path] = []
    test_labels: list[int] = []
    with open(annotations, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2:
                raise DataError(
                    f"dataset '{name}': {annotations} line {number} is {line.strip()!r}; "
                    "expected '<file> <wnid> <box>'"
                )
            if fields[1] not in index:
                raise DataError(
                    f"dataset '{name}': {annotations} line {number} labels {fields[0]} with {fields[1]}, "
                    "which wnids.txt does not list; restore both from the same official archive"
                )
            test_files.append(base / "val" / "images" / fields[0])
            test_labels.append(index[fields[1]])
    if not test_files:
        raise DataError(f"dataset '{name}': {annotations} lists no images; {_extract_hint(root)}")

    return build_image_set(
        name,
        load_resized(train_files, resolution),
        np.asarray(train_labels, dtype=np.int64),
        load_resized(test_files, resolution),
        np.asarray(test_labels, dtype=np.int64),
        classes,
        resolution,
    )


def _read_wnids(path: Path, name: str) -> list[str]:
    with open(path, encoding="utf-8") as stream:
        wnids = [line.strip() for line in stream if line.strip()]
    if not wnids:
        raise DataError(f"dataset '{name}': {path} lists no class ids; restore it from the official archive")
    repeated = sorted({wnid for wnid in wnids if wnids.count(wnid) > 1})
    if repeated:
        raise DataError(
            f"dataset '{name}': {path} repeats class ids {', '.join(repeated[:5])}; "
            "restore it from the official archive"
        )
    return wnids


def _first_names(path: Path, wnids: list[str], name: str) -> list[str]:
    """The first of the comma-separated names ``words.txt`` gives each wnid."""
    wanted = set(wnids)
    names: dict[str, str] = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            parts = line.rstrip("\r\n").split("\t", 1)
            if len(parts) != 2:
                parts = line.strip().split(maxsplit=1)
            if len(parts) == 2 and parts[0] in wanted and parts[0] not in names:
                names[parts[0]] = parts[1].split(",", 1)[0].strip() or parts[0]
    missing = [wnid for wnid in wnids if wnid not in names]
    if missing:
        shown = ", ".join(missing[:5]) + (f", ... ({len(missing)} in all)" if len(missing) > 5 else "")
        raise DataError(
            f"dataset '{name}': {path} gives no name for class ids {shown} of wnids.txt; "
            "restore both from the same official archive"
        )
    return [names[wnid] for wnid in wnids]


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    check_tinyimagenet(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_tinyimagenet(source.location, name=source.name, resolution=resolution)
