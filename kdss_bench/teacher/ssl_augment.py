"""The Barlow Twins view augmentation, batched on the images' device in pure torch.

Per image, as torchvision's ``RandomResizedCrop(scale=(0.2, 1)) -> RandomHorizontalFlip ->
RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p=0.8) -> RandomGrayscale(0.2) -> Normalize``
would do it, but for a whole uint8 batch at once: no PIL, no DataLoader workers. Crop, resize
and flip are one ``grid_sample`` with a per-image affine grid; the four jitter operations are
applied in a random order per image, like torchvision's ``ColorJitter``. All randomness
comes from the ``generator`` passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_LUMA = (0.299, 0.587, 0.114)


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of (N, 3, H, W) images in [0, 1] -> (N, 1, H, W)."""
    r, g, b = x.unbind(dim=1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> HSV with every channel in [0, 1]."""
    r, g, b = x.unbind(dim=1)
    value, _ = x.max(dim=1)
    chroma = value - x.min(dim=1).values
    grey = chroma == 0
    safe_chroma = torch.where(grey, torch.ones_like(chroma), chroma)
    saturation = torch.where(grey, torch.zeros_like(chroma), chroma / torch.where(value == 0, 1.0, value))
    # Hue sector by which channel is the maximum (red wins ties, then green).
    hue_r = ((g - b) / safe_chroma) % 6.0
    hue_g = (b - r) / safe_chroma + 2.0
    hue_b = (r - g) / safe_chroma + 4.0
    hue = torch.where(value == r, hue_r, torch.where(value == g, hue_g, hue_b))
    hue = torch.where(grey, torch.zeros_like(hue), hue) / 6.0
    return torch.stack((hue % 1.0, saturation, value), dim=1)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`."""
    hue, saturation, value = x.unbind(dim=1)
    # Standard piecewise-linear form: channel k = v - v*s*clamp(min(m, 4 - m), 0, 1), m = (k + 6h) mod 6.
    out = []
    for k in (5.0, 3.0, 1.0):
        m = (k + hue * 6.0) % 6.0
        out.append(value - value * saturation * torch.clamp(torch.minimum(m, 4.0 - m), 0.0, 1.0))
    return torch.stack(out, dim=1)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (x * factor.view(-1, 1, 1, 1)).clamp_(0.0, 1.0)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    mean = grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1.0 - f) * mean).clamp_(0.0, 1.0)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1.0 - f) * grayscale(x)).clamp_(0.0, 1.0)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    hsv = rgb_to_hsv(x)
    hue = (hsv[:, 0] + shift.view(-1, 1, 1)) % 1.0
    return hsv_to_rgb(torch.stack((hue, hsv[:, 1], hsv[:, 2]), dim=1)).clamp_(0.0, 1.0)


def resized_crop_batch(x: torch.Tensor, boxes: torch.Tensor, flip: torch.Tensor, size: int) -> torch.Tensor:
    """Crop box ``(top, left, h, w)`` of each image, resize it bilinearly to ``size``, flip where asked.

    One ``grid_sample`` over the whole batch. The sampling points are those of crop-then-
    ``interpolate(bilinear, align_corners=False)``: output pixel k reads crop coordinate
    ``(k + 0.5) * w / size - 0.5``, clamped into the crop so its border is not blended with
    pixels outside it. No antialiasing (a crop is never larger than the output here).
    """
    _, _, height, width = x.shape
    top, left, h, w = boxes.to(x.dtype).unbind(dim=1)
    k = torch.arange(size, device=x.device, dtype=x.dtype) + 0.5

    def axis(start: torch.Tensor, extent: torch.Tensor, full: int) -> torch.Tensor:
        inside = torch.minimum(
            (k * (extent / size).unsqueeze(1) - 0.5).clamp(min=0.0), (extent - 1).unsqueeze(1)
        )
        return (2.0 * (start.unsqueeze(1) + inside) + 1.0) / full - 1.0  # normalised, align_corners=False

    gx = axis(left, w, width)
    gx = torch.where(flip.unsqueeze(1), gx.flip(1), gx)
    gy = axis(top, h, height)
    grid = torch.stack(torch.broadcast_tensors(gx.unsqueeze(1), gy.unsqueeze(2)), dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


_JITTER_OPS: tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ...] = (
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    adjust_hue,
)


@dataclass(frozen=True)
class BarlowTwinsAugment:
    """One random view per image: uint8 (N, 3, R, R) -> normalised float32 (N, 3, S, S)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    out_size: int | None = None  # None: the input resolution
    crop_scale: tuple[float, float] = (0.2, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale_p: float = 0.2
    crop_tries: int = 10

    def crop_boxes(
        self, n: int, height: int, width: int, generator: torch.Generator, device: torch.device
    ) -> torch.Tensor:
        """(N, 4) boxes ``top, left, h, w`` drawn like ``RandomResizedCrop.get_params``.

        ``crop_tries`` candidates per image; the first that fits wins, else a centre crop
        with the aspect ratio clamped into ``crop_ratio``.
        """
        tries = self.crop_tries
        area = float(height * width)
        scale = _uniform(n * tries, *self.crop_scale, generator, device).view(n, tries)
        log_ratio = _uniform(n * tries, *map(math.log, self.crop_ratio), generator, device).view(n, tries)
        ratio = torch.exp(log_ratio)
        w = torch.round(torch.sqrt(area * scale * ratio))
        h = torch.round(torch.sqrt(area * scale / ratio))
        fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = fits.to(torch.int8).argmax(dim=1, keepdim=True)
        h = h.gather(1, first).squeeze(1)
        w = w.gather(1, first).squeeze(1)
        any_fit = fits.any(dim=1)
        # Centre-crop fallback.
        in_ratio = width / height
        if in_ratio < self.crop_ratio[0]:
            fb_w, fb_h = width, round(width / self.crop_ratio[0])
        elif in_ratio > self.crop_ratio[1]:
            fb_w, fb_h = round(height * self.crop_ratio[1]), height
        else:
            fb_w, fb_h = width, height
        h = torch.where(any_fit, h, torch.full_like(h, fb_h))
        w = torch.where(any_fit, w, torch.full_like(w, fb_w))
        u_top = torch.rand(n, generator=generator, device=device)
        u_left = torch.rand(n, generator=generator, device=device)
        top = torch.where(any_fit, torch.floor(u_top * (height - h + 1)), torch.round((height - h) / 2))
        left = torch.where(any_fit, torch.floor(u_left * (width - w + 1)), torch.round((width - w) / 2))
        return torch.stack((top, left, h, w), dim=1)

    def crop_resize_flip(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, height, width = x.shape
        boxes = self.crop_boxes(n, height, width, generator, x.device)
        flip = torch.rand(n, generator=generator, device=x.device) < self.flip_p
        return resized_crop_batch(x, boxes, flip, self.out_size or height)

    def color_jitter(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, device = x.shape[0], x.device
        apply = torch.rand(n, generator=generator, device=device) < self.jitter_p
        factors = (
            _uniform(n, max(0.0, 1 - self.brightness), 1 + self.brightness, generator, device),
            _uniform(n, max(0.0, 1 - self.contrast), 1 + self.contrast, generator, device),
            _uniform(n, max(0.0, 1 - self.saturation), 1 + self.saturation, generator, device),
            _uniform(n, -self.hue, self.hue, generator, device),
        )
        order = torch.rand(n, len(_JITTER_OPS), generator=generator, device=device).argsort(dim=1)
        x = x.clone()
        for position in range(len(_JITTER_OPS)):
            for op_index, op in enumerate(_JITTER_OPS):
                idx = (apply & (order[:, position] == op_index)).nonzero().squeeze(1)
                if idx.numel():
                    x[idx] = op(x[idx], factors[op_index][idx])
        return x

    def random_grayscale(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        to_grey = torch.rand(x.shape[0], generator=generator, device=x.device) < self.grayscale_p
        return torch.where(to_grey.view(-1, 1, 1, 1), grayscale(x).expand_as(x), x)

    def __call__(self, x_uint8: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = x_uint8.float().div_(255.0) if x_uint8.dtype == torch.uint8 else x_uint8.float()
        x = self.crop_resize_flip(x, generator)
        x = self.color_jitter(x, generator)
        x = self.random_grayscale(x, generator)
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std
