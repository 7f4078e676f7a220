"""Differentiable Siamese Augmentation (DSA, Zhao and Bilen 2021), batched on the images' device.

The supervised baselines pre-train on their distilled sets with these augmentations, and DSA
and DM apply them while distilling. Every op is a differentiable function of the images, so a
loss on augmented synthetic images still reaches the pixels. Two uses:

* per-image random parameters (the official pre-training: each image of a batch gets its own
  scale, angle, shift, ...), drawn from an optional ``torch.Generator``;
* *siamese*: one transformation for the whole batch, fixed by ``siamese_seed``, so a real batch
  and a synthetic batch of one class (of different sizes) are transformed identically.

Semantics follow ``ParamDiffAug`` / ``DiffAugment`` of the official code: op families ``color``
(brightness, saturation, contrast, in that order), ``crop`` (integer translation with zero
fill), ``cutout`` (a zeroed square), ``flip`` (horizontal), ``scale`` and ``rotate`` (affine
resampling, bilinear, zeros outside, ``align_corners=True``). Mode ``"S"`` applies ONE family,
chosen at random per call for the whole batch; mode ``"M"`` applies every family in turn.

The deterministic ops (:func:`scale`, :func:`rotate`, ...) take explicit per-image parameters;
:class:`DiffAugment` only draws those parameters, which keeps each op testable on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from kdss_bench.errors import ConfigError
from kdss_bench.train.dsa_strategy import DEFAULT_STRATEGY, parse_strategy
from kdss_bench.train.seeding import derive_seed

__all__ = ["DEFAULT_STRATEGY", "FAMILIES", "DiffAugment", "DsaParams", "parse_strategy", "seeded_dsa"]
MODES = ("S", "M")


@dataclass(frozen=True)
class DsaParams:
    """Strength of each op (defaults: the official ``ParamDiffAug``)."""

    scale: float = 1.2
    """Per-axis scale factor drawn from [1/scale, scale]."""
    rotate: float = 15.0
    """Angle drawn from [-rotate, rotate] degrees."""
    crop: float = 0.125
    """Largest shift, as a fraction of the side (rounded to whole pixels)."""
    cutout: float = 0.5
    """Side of the zeroed square, as a fraction of the image side."""
    brightness: float = 1.0
    """Added offset drawn from [-brightness/2, brightness/2]."""
    saturation: float = 2.0
    """Distance from the per-pixel channel mean multiplied by a factor in [0, saturation]."""
    contrast: float = 0.5
    """Distance from the image mean multiplied by a factor in [contrast, contrast + 1]."""
    flip: float = 0.5
    """Probability of a horizontal flip."""

    def __post_init__(self) -> None:
        if self.scale < 1.0:
            raise ConfigError(f"DSA scale must be >= 1 (a range [1/scale, scale]), got {self.scale}")
        if not 0.0 <= self.flip <= 1.0:
            raise ConfigError(f"DSA flip is a probability in [0, 1], got {self.flip}")
        if not 0.0 <= self.cutout <= 1.0:
            raise ConfigError(f"DSA cutout is a fraction of the side in [0, 1], got {self.cutout}")
        for name in ("rotate", "crop", "brightness", "saturation", "contrast"):
            if getattr(self, name) < 0:
                raise ConfigError(f"DSA {name} must be >= 0, got {getattr(self, name)}")


# ----------------------------------------------------------------------------------------------
# The ops, with explicit per-image parameters (tensors of shape (N,) on the images' device).


def _per_image(values: Tensor, x: Tensor) -> Tensor:
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _affine(x: Tensor, theta: Tensor) -> Tensor:
    grid = F.affine_grid(theta.to(device=x.device, dtype=x.dtype), list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def scale(x: Tensor, sx: Tensor, sy: Tensor) -> Tensor:
    """Resamples each image at its coordinates times (sx, sy): > 1 shrinks the content, zeros outside."""
    zeros = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zeros, zeros], -1), torch.stack([zeros, sy, zeros], -1)], 1)
    return _affine(x, theta)


def rotate(x: Tensor, angle: Tensor) -> Tensor:
    """Rotates each image about its centre by ``angle`` radians (positive: anticlockwise), zeros outside."""
    cos, sin, zeros = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zeros], -1), torch.stack([sin, cos, zeros], -1)], 1)
    return _affine(x, theta)


def flip(x: Tensor, flipped: Tensor) -> Tensor:
    """Mirrors left-right the images whose entry of the boolean ``flipped`` is true."""
    return torch.where(flipped.to(x.device).view(-1, 1, 1, 1), x.flip(3), x)


def adjust_brightness(x: Tensor, shift: Tensor) -> Tensor:
    """Adds ``shift`` to every pixel of each image."""
    return x + _per_image(shift, x)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scales each pixel's distance from its channel mean (0: grey, 1: unchanged)."""
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * _per_image(factor, x) + grey


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scales each image's distance from its own mean over channels and pixels."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_image(factor, x) + mean


def translate(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Output pixel (i, j) of image k is input pixel (i + dy[k], j + dx[k]), zero where that lies outside.

    DSA's ``crop``: a window of the zero-padded image. One gather over the image padded by a
    single zero pixel, with indices clamped onto that border, does every shift at once.
    """
    n, c, h, w = x.shape
    device = x.device
    rows = (torch.arange(h, device=device) + dy.to(device).view(-1, 1)).clamp(-1, h) + 1  # (n, h)
    cols = (torch.arange(w, device=device) + dx.to(device).view(-1, 1)).clamp(-1, w) + 1  # (n, w)
    padded = F.pad(x, (1, 1, 1, 1))
    index = (rows[:, :, None] * (w + 2) + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, -1).gather(2, index).view(n, c, h, w)


def cutout(x: Tensor, cy: Tensor, cx: Tensor, size: tuple[int, int]) -> Tensor:
    """Zeros, in image k, the ``size`` rectangle whose rows start at cy[k] - size[0] // 2 (same for columns).

    The rectangle is clipped by the image border.
    """
    _, _, h, w = x.shape
    device = x.device
    top = (cy.to(device) - size[0] // 2).view(-1, 1)
    left = (cx.to(device) - size[1] // 2).view(-1, 1)
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    in_rows = (rows >= top) & (rows < top + size[0])  # (n, h)
    in_cols = (cols >= left) & (cols < left + size[1])  # (n, w)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep.unsqueeze(1).to(x.dtype)


# ----------------------------------------------------------------------------------------------
# Random parameters.


class _Draws:
    """Random parameters for one call: ``count`` values per draw, expanded to the batch.

    Per-image draws come from ``generator`` (or the global RNG) on its own device and are moved
    to the images' device; a siamese call draws one value per parameter from a CPU generator
    seeded with the siamese seed, so the draws do not depend on the batch size or device.
    """

    def __init__(self, batch: int, device: torch.device, generator: torch.Generator | None, shared: bool) -> None:
        self.batch = batch
        self.count = 1 if shared else batch
        self.generator = generator
        self.draw_device = generator.device if generator is not None else device

    def _expand(self, values: Tensor) -> Tensor:
        return values.expand(self.batch) if self.count == 1 else values

    def uniform(self, low: float, high: float) -> Tensor:
        u = torch.rand(self.count, generator=self.generator, device=self.draw_device)
        return self._expand(u * (high - low) + low)

    def integers(self, low: int, high_inclusive: int) -> Tensor:
        values = torch.randint(low, high_inclusive + 1, (self.count,), generator=self.generator,
                               device=self.draw_device)
        return self._expand(values)

    def pick(self, k: int) -> int:
        return int(torch.randint(0, k, (1,), generator=self.generator, device=self.draw_device).item())


def _random_scale(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    sx = draws.uniform(1.0 / p.scale, p.scale)
    sy = draws.uniform(1.0 / p.scale, p.scale)
    return scale(x, sx, sy)


def _random_rotate(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    limit = math.radians(p.rotate)
    return rotate(x, draws.uniform(-limit, limit))


def _random_flip(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    return flip(x, draws.uniform(0.0, 1.0) < p.flip)


def _random_brightness(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    return adjust_brightness(x, draws.uniform(-0.5 * p.brightness, 0.5 * p.brightness))


def _random_saturation(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    return adjust_saturation(x, draws.uniform(0.0, p.saturation))


def _random_contrast(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    return adjust_contrast(x, draws.uniform(p.contrast, p.contrast + 1.0))


def _random_crop(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    max_dy, max_dx = int(x.shape[2] * p.crop + 0.5), int(x.shape[3] * p.crop + 0.5)
    dy = draws.integers(-max_dy, max_dy)
    dx = draws.integers(-max_dx, max_dx)
    return translate(x, dy, dx)


def _random_cutout(x: Tensor, p: DsaParams, draws: _Draws) -> Tensor:
    size = (int(x.shape[2] * p.cutout + 0.5), int(x.shape[3] * p.cutout + 0.5))
    # Official ranges: centres in [0, side - 1], plus one more position when the side of the square is even.
    cy = draws.integers(0, x.shape[2] - size[0] % 2)
    cx = draws.integers(0, x.shape[3] - size[1] % 2)
    return cutout(x, cy, cx, size)


_Op = Callable[[Tensor, DsaParams, _Draws], Tensor]
FAMILIES: dict[str, tuple[_Op, ...]] = {
    "color": (_random_brightness, _random_saturation, _random_contrast),
    "crop": (_random_crop,),
    "cutout": (_random_cutout,),
    "flip": (_random_flip,),
    "scale": (_random_scale,),
    "rotate": (_random_rotate,),
}


class DiffAugment:
    """Callable DSA augmentation: ``DiffAugment()(x, generator=g)`` or ``(x, siamese_seed=s)``."""

    def __init__(self, strategy: str = DEFAULT_STRATEGY, params: DsaParams = DsaParams(), mode: str = "S") -> None:
        if mode not in MODES:
            raise ConfigError(f"DSA mode must be 'S' (one op family per call) or 'M' (all in turn), got {mode!r}")
        self.strategy = strategy
        self.families = parse_strategy(strategy)
        self.params = params
        self.mode = mode

    def __call__(
        self, x: Tensor, *, generator: torch.Generator | None = None, siamese_seed: int | None = None
    ) -> Tensor:
        """Augments an (N, C, H, W) float batch; differentiable w.r.t. ``x``; returns ``x`` when no family is set.

        With ``siamese_seed`` every image gets the same transformation, and equal seeds give equal
        transformations whatever the batch size (``generator`` is then ignored). Without it, each
        image gets its own parameters from ``generator`` (any device; a CPU generator gives the same
        draws on every device and spares the GPU a host sync when mode 'S' picks its family).
        """
        if x.dim() != 4 or not x.is_floating_point():
            raise ValueError(f"DiffAugment expects a float (N, C, H, W) batch, got {x.dtype} {tuple(x.shape)}")
        if not self.families or x.shape[0] == 0:
            return x
        if siamese_seed is not None:
            shared = torch.Generator().manual_seed(int(siamese_seed))
            draws = _Draws(x.shape[0], x.device, shared, shared=True)
        else:
            draws = _Draws(x.shape[0], x.device, generator, shared=False)
        families = self.families if self.mode == "M" else (self.families[draws.pick(len(self.families))],)
        for family in families:
            for op in FAMILIES[family]:
                x = op(x, self.params, draws)
        return x.contiguous()

    def __repr__(self) -> str:
        return f"DiffAugment(strategy={self.strategy!r}, mode={self.mode!r}, params={self.params!r})"


def seeded_dsa(strategy: str, seed: int) -> Callable[[Tensor], Tensor]:
    """``x -> DSA(x)`` drawing from its own generator seeded from ``seed``, without autograd.

    A CPU generator: the same draws on every device, and no host sync for mode 'S''s family pick.
    Used by the pre-training recipes, where the images are data, not parameters.
    """
    augment = DiffAugment(strategy)
    generator = torch.Generator().manual_seed(derive_seed(seed, "augment"))

    def apply(x: Tensor) -> Tensor:
        with torch.no_grad():
            return augment(x, generator=generator)

    return apply
