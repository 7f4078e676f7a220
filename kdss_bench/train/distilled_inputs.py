"""Checks shared by the pre-training recipes: a distilled set's images and targets line up.

Every recipe can be called directly (tests, notebooks), not only through the runner's validated
DistilledSet, so each checks its inputs; the checks common to all live here once.
"""

from __future__ import annotations

from torch import Tensor

from kdss_bench.errors import DataError


def check_distilled_images(x_syn: Tensor) -> None:
    if x_syn.dim() != 4 or not x_syn.is_floating_point():
        raise DataError(
            f"distilled images must be a float (N, C, H, W) tensor, got {x_syn.dtype} {tuple(x_syn.shape)}"
        )


def check_same_count(x_syn: Tensor, targets: Tensor, noun: str) -> None:
    """One target per image, and at least one image (``noun``: "targets" or "labels", for the message)."""
    if x_syn.shape[0] != targets.shape[0] or x_syn.shape[0] == 0:
        raise DataError(f"distilled set has {x_syn.shape[0]} images but {targets.shape[0]} {noun}")
