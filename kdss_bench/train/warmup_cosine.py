"""Cosine learning-rate decay after a linear warm-up, stepped once per iteration.

The official KIP/FRePo pre-training uses ``transformers.get_cosine_schedule_with_warmup``
(half a cosine cycle). The same factor is written here in plain torch so the benchmark does
not depend on transformers: it rises linearly from 0 over ``warmup`` steps, then follows
0.5 * (1 + cos(pi * progress)) down to 0 at ``total`` steps.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine_factor(step: int, warmup: int, total: int) -> float:
    """The multiplier of the base learning rate at (0-based) ``step``."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def warmup_cosine_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> LambdaLR:
    """A ``LambdaLR`` applying :func:`warmup_cosine_factor`; call ``step()`` after every optimiser step."""
    if warmup < 0 or total < 0:
        raise ValueError(f"warmup and total must be >= 0, got warmup={warmup}, total={total}")
    return LambdaLR(optimizer, lambda step: warmup_cosine_factor(step, warmup, total))
