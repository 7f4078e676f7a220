"""Tiny in-memory sources for the method tests: a real ImageSet in a few kilobytes."""

from __future__ import annotations

import torch

from kdss_bench.data.image_set import ImageSet, build_image_set


def tiny_source(per_class: int = 6, classes: int = 3, resolution: int = 4, seed: int = 0) -> ImageSet:
    """``classes`` classes of ``per_class`` random uint8 images each, labels interleaved (0, 1, 2, 0, ...)."""
    g = torch.Generator().manual_seed(seed)
    n = per_class * classes
    x = torch.randint(0, 256, (n, 3, resolution, resolution), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % classes
    return build_image_set("tiny", x, y, x[:classes], y[:classes], tuple(f"c{k}" for k in range(classes)),
                           resolution)
