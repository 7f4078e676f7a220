"""Batched image transforms that run on the tensor's own device.

Images stay in memory as uint8 on the training device, so the per-batch work is: convert,
augment, normalise. Doing this as a few tensor ops over the whole batch (no per-image Python
loop, no DataLoader workers) keeps the GPU fed and gives one seedable source of randomness.
The training transform follows the official fine-tuning recipe (kornia RandomCrop with
padding 4 and zero fill, RandomHorizontalFlip p=0.5, Normalize); the test transform only
normalises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

Stats = Sequence[float] | Tensor


class CropFlip(NamedTuple):
    """One draw of :class:`TrainAugment`'s randomness for a batch: offsets (n,) and flips (n,)."""

    off_y: Tensor
    off_x: Tensor
    flipped: Tensor


def to_float(x: Tensor) -> Tensor:
    """uint8 images in [0, 255] -> float32 in [0, 1]; floating input is returned as float32."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    if not x.is_floating_point():
        raise TypeError(f"to_float expects uint8 or floating images, got {x.dtype}")
    return x.to(torch.float32)


def _channel_stats(stats: Stats, like: Tensor) -> Tensor:
    return torch.as_tensor(stats, dtype=like.dtype, device=like.device).reshape(1, -1, 1, 1)


def normalize(x: Tensor, mean: Stats, std: Stats) -> Tensor:
    """Per-channel (x - mean) / std on an (N, C, H, W) float batch; returns a new tensor."""
    return (x - _channel_stats(mean, x)) / _channel_stats(std, x)


class _Normalizer:
    """Caches the mean/std tensors per (device, dtype) so a training loop copies them once."""

    def __init__(self, mean: Stats, std: Stats) -> None:
        self.mean = tuple(float(m) for m in torch.as_tensor(mean).flatten())
        self.std = tuple(float(s) for s in torch.as_tensor(std).flatten())
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} channels but std has {len(self.std)}")
        self._cache: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}

    def stats_like(self, x: Tensor) -> tuple[Tensor, Tensor]:
        key = (x.device, x.dtype)
        if key not in self._cache:
            self._cache[key] = (_channel_stats(self.mean, x), _channel_stats(self.std, x))
        return self._cache[key]

    def apply_(self, x: Tensor) -> Tensor:
        """Normalises a freshly made float tensor in place (callers own it)."""
        mean, std = self.stats_like(x)
        return x.sub_(mean).div_(std)


class TestTransform(_Normalizer):
    """Evaluation transform: convert to float and normalise, nothing random."""

    __test__ = False  # not a pytest test class despite the name

    def __call__(self, x: Tensor) -> Tensor:
        out = to_float(x)
        if out is x:  # float32 input: do not normalise the caller's tensor in place
            out = out.clone()
        return self.apply_(out)


class TrainAugment(_Normalizer):
    """Random crop (zero padding) + random horizontal flip + normalise, per sample, batched.

    Each image gets its own crop offset in [0, 2 * crop_padding] on both axes and its own
    flip coin. The batch is padded once and every crop is read with one ``gather``, so the
    cost does not grow with a Python loop over images. Pass a
    ``torch.Generator`` that lives on the input's device for reproducible draws.
    """

    def __init__(self, mean: Stats, std: Stats, crop_padding: int = 4, flip: bool = True) -> None:
        super().__init__(mean, std)
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0, got {crop_padding}")
        self.crop_padding = int(crop_padding)
        self.flip = bool(flip)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"TrainAugment expects an (N, C, H, W) batch, got shape {tuple(x.shape)}")
        cropped = self.crop_and_flip(x, generator)
        return self.apply_(to_float(cropped))

    def crop_and_flip(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The geometric part alone, in the input's dtype (uint8 stays uint8: 4x less to move)."""
        if x.dim() != 4:
            raise ValueError(f"crop_and_flip expects an (N, C, H, W) batch, got shape {tuple(x.shape)}")
        return self.apply_crop_flip(x, self.draw_crop_flip(x.shape[0], generator, x.device))

    def draw_crop_flip(self, n: int, generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu") -> CropFlip:
        """The random part alone: per-image crop offsets in [0, 2 * padding] and flip coins.

        Kept apart from :meth:`apply_crop_flip` so a view can be stored as three small integers
        and re-created exactly later (KRR-ST's teacher-target cache does this).
        """
        span = 2 * self.crop_padding + 1
        off_y = torch.randint(0, span, (n,), generator=generator, device=device)
        off_x = torch.randint(0, span, (n,), generator=generator, device=device)
        if self.flip:
            flipped = torch.rand(n, generator=generator, device=device) < 0.5
        else:
            flipped = torch.zeros(n, dtype=torch.bool, device=device)
        return CropFlip(off_y, off_x, flipped)

    def apply_crop_flip(self, x: Tensor, params: CropFlip) -> Tensor:
        """Crops and flips each image of ``x`` as ``params`` say, with one ``gather`` for the batch."""
        n, c, h, w = x.shape
        device = x.device
        p = self.crop_padding
        off_y, off_x, flipped = (t.to(device) for t in params)
        cols = torch.arange(w, device=device).expand(n, w)
        cols = torch.where(flipped[:, None], cols.flip(1), cols)
        rows = off_y[:, None].long() + torch.arange(h, device=device)  # (n, h) rows of the padded image
        cols = off_x[:, None].long() + cols  # (n, w) columns of the padded image
        padded = F.pad(x, (p, p, p, p)) if p > 0 else x
        width = w + 2 * p
        # One gather over the flattened padded image: pixel (i, j) of crop k is padded[k, :, rows, cols].
        flat_idx = (rows[:, :, None] * width + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
        return padded.reshape(n, c, -1).gather(2, flat_idx).view(n, c, h, w)

    def normalize_(self, x: Tensor) -> Tensor:
        """uint8 or float crops -> normalised float32 (a new tensor for uint8, in place for float)."""
        return self.apply_(to_float(x))
