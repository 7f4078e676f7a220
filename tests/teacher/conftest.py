"""Tiny structured image sets for teacher tests (a real ImageSet, built in memory)."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.data.image_set import ImageSet


def make_toy_images(n: int = 64, resolution: int = 16, seed: int = 0) -> ImageSet:
    """Colour + oriented ramp + noise per image: enough structure for an SSL loss to learn from."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, resolution), torch.linspace(0, 1, resolution), indexing="ij")
    colour = torch.rand(n, 3, 1, 1, generator=g)
    angle = torch.rand(n, 1, 1, 1, generator=g) * 6.283
    ramp = torch.cos(angle) * xx + torch.sin(angle) * yy
    img = 0.5 * colour + 0.3 * ramp * torch.rand(n, 3, 1, 1, generator=g)
    img = img + 0.1 * torch.rand(n, 3, resolution, resolution, generator=g)
    x = (img.clamp(0, 1) * 255).round().to(torch.uint8)
    as_float = x.float() / 255
    labels = torch.zeros(n, dtype=torch.long)
    return ImageSet(
        name="toy",
        x_train=x,
        y_train=labels,
        x_test=x[:4],
        y_test=labels[:4],
        classes=("toy",),
        mean=tuple(as_float.mean(dim=(0, 2, 3)).tolist()),
        std=tuple(as_float.std(dim=(0, 2, 3)).tolist()),
    )


@pytest.fixture(scope="module")
def toy_images() -> ImageSet:
    return make_toy_images()
