"""How many classes and training images a dataset has, known without loading its images.

Suite validation checks budgets against the source (one image per class for class-balanced
methods, no more images than the source has), so it needs these counts before anything runs and
without torch. Built-in sets have fixed sizes (the table below, the same numbers their
descriptions state); an ``.npz`` file's array headers give them when files may be read. An
``imagefolder`` set's counts need a walk over its files: those checks wait for run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdss_bench.data.registry import resolve_dataset

BUILTIN_SIZES: dict[str, tuple[int, int]] = {
    # name: (classes, training images); shared npz sets
    "cifar10_src": (10, 5000), "tinyimagenet100": (100, 5000), "gtsrb43": (43, 2150), "dtd10": (10, 800),
    "signdigits10": (10, 1600), "fashion10": (10, 1000),
    # torchvision sets
    "cifar10": (10, 50_000), "cifar100": (100, 50_000), "aircraft": (100, 6667), "cars": (196, 8144),
    "flowers102": (102, 2040), "gtsrb": (43, 26_640), "dtd": (47, 3760), "fashion_mnist": (10, 60_000),
    # official archives
    "cub2011": (200, 5994), "dogs": (120, 12_000), "tinyimagenet": (200, 100_000), "imagenet64": (1000, 1_281_167),
    # offline bundled sets
    "mnist5k": (10, 4000), "digits": (10, 1000), "lfw_faces": (2, 100), "textures3": (3, 96),
}


@dataclass(frozen=True)
class DatasetFacts:
    """``None``: not known before the set is loaded."""

    num_classes: int | None = None
    train_images: int | None = None
    """For a ``train_per_class`` subset an upper bound: K per class, fewer where a class is smaller."""


def dataset_facts(name: str, *, data_root: Path | str | None, declared: Mapping[str, Mapping[str, Any]] | None,
                  read_files: bool) -> DatasetFacts:
    """The counts of ``name``; with ``read_files`` an npz file's headers are read (ConfigError/DataError
    as :func:`~kdss_bench.data.registry.check_dataset` raises them)."""
    source = resolve_dataset(name, data_root=data_root, declared=declared, need_location=read_files)
    if source.format == "npz":
        if read_files and source.location is not None:
            from kdss_bench.data.npz_reader import inspect_npz

            headers = inspect_npz(source.location, name=name)
            sizes: tuple[int, int] | None = (headers["classes"].shape[0], headers["x_train"].shape[0])
        else:
            sizes = BUILTIN_SIZES.get(name) if not declared or name not in declared else None
    elif source.format == "imagefolder":
        sizes = None  # counting its images means listing every class folder: left to run time
    else:
        sizes = BUILTIN_SIZES.get(source.variant or name)
    if sizes is None:
        return DatasetFacts()
    classes, train = sizes
    if source.train_per_class is not None:
        train = min(train, source.train_per_class * classes)
    return DatasetFacts(num_classes=classes, train_images=train)
