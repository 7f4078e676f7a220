"""Datasets: the registry of names, readers for each on-disk format, and the ImageSet they produce.

Importing this package is cheap (no torch); ``ImageSet`` and ``build_image_set`` load on first use.
"""

from __future__ import annotations

from typing import Any

from kdss_bench.data.registry import check_dataset, dataset_names, describe_dataset, load_dataset

__all__ = [
    "ImageSet",
    "build_image_set",
    "check_dataset",
    "dataset_names",
    "describe_dataset",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    if name in ("ImageSet", "build_image_set"):
        from kdss_bench.data import image_set

        return getattr(image_set, name)
    raise AttributeError(f"module 'kdss_bench.data' has no attribute {name!r}")
