"""Low-shot variants: a class-balanced subset of a dataset's train split, with its test split untouched.

A suite declares one with ``train_per_class: K`` (and optionally ``subset_seed``) on any entry
under ``datasets:``; the registry reads the full set and hands it to :func:`take_train_per_class`.
"""

from __future__ import annotations

import torch

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.stratified_split import per_class_indices


def take_train_per_class(images: ImageSet, per_class: int, seed: int = 0, *, name: str | None = None) -> ImageSet:
    """Keep ``per_class`` seeded train images of every class (all of a smaller class), the whole test split.

    The result goes through :func:`build_image_set`, so its normalisation statistics are those of
    the kept train images, and it is named ``name`` (default: the full set's name). Its
    fingerprint differs from the full set's whenever the kept images or the name differ.
    """
    keep = torch.from_numpy(per_class_indices(images.y_train.numpy(), per_class, seed))
    return build_image_set(
        name or images.name,
        images.x_train[keep],
        images.y_train[keep],
        images.x_test,
        images.y_test,
        images.classes,
        images.resolution,
    )
