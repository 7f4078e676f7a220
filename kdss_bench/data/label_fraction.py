"""A fraction of a target's training labels: the semi-supervised half of MKDT's protocol.

MKDT evaluates transfer with only 1-50% of the target's labels (``eval.py`` ``--subset_frac``);
``label_fraction`` makes that an axis for every evaluation. The subset is drawn from the cell's
seed, so each seed sees its own labelled images, and for one seed a smaller fraction is contained
in a larger one. The test split and the normalisation statistics stay the full set's: only what
the evaluation may learn from shrinks, never what it is tested on or how its inputs are scaled.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from kdss_bench.data.image_set import ImageSet

SAMPLINGS = ("stratified", "random")
_STREAM = 0x1ABE1
"""Mixed into the seed so that this draw never coincides with another use of the cell's seed."""


def label_fraction_indices(labels: np.ndarray, fraction: float, seed: int, sampling: str = "stratified") -> np.ndarray:
    """Sorted indices of the kept training images.

    ``stratified``: ``round(fraction * n_c)`` of each class (at least one), a seeded permutation per
    class. ``random``: ``round(fraction * N)`` (at least one) of a seeded permutation of the whole split,
    as MKDT's ``subset_frac`` does, so a rare class may be missing.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng([int(seed), _STREAM])
    if sampling == "random":
        keep = max(1, round(fraction * len(labels)))
        return np.sort(rng.permutation(len(labels))[:keep])
    parts = []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        parts.append(members[: max(1, round(fraction * len(members)))])
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def take_label_fraction(images: ImageSet, fraction: float, seed: int, sampling: str = "stratified") -> ImageSet:
    """``images`` with only the seeded ``fraction`` of its training split; ``fraction`` 1 returns it as is."""
    if fraction == 1.0:
        return images
    keep = torch.from_numpy(label_fraction_indices(images.y_train.numpy(), fraction, seed, sampling))
    return dataclasses.replace(images, x_train=images.x_train[keep], y_train=images.y_train[keep])
