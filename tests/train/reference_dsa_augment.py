"""A plain statement of DSA's ``DiffAugment``, kept as a test oracle for ``kdss_bench.train.dsa_augment``.

Restated from the official code, VICO-UoE/DatasetCondensation ``utils.py``: ``ParamDiffAug`` (the
strengths), ``DiffAugment`` (mode ``'S'``: one family drawn per call; ``'M'``: every family in
turn) and the ops ``rand_scale``, ``rand_rotate``, ``rand_flip``, ``rand_brightness``,
``rand_saturation``, ``rand_contrast``, ``rand_crop`` and ``rand_cutout`` (``AUGMENT_FNS``; the ops
themselves come from mit-han-lab/data-efficient-gans). Written image by image and pixel by
pixel, with the official formulas: theta matrices built per image, the crop as a window of the
image padded by one zero pixel with clamped indices, the cutout as a mask zeroed at clamped
indices. Nothing here uses the package's DSA code.

Random draws. The official ops draw from torch's global generator, each op its ``N`` values in
this order: scale ``sx`` then ``sy``; crop rows then columns; cutout rows then columns; one per
colour op. The siamese mode (``seed != -1``) re-seeds the global generator with ``seed, seed + 1,
...`` before every draw (``set_seed_DiffAug``) and gives every image the first image's value
(``theta[:] = theta[0]``). Here the draws come from a ``torch.Generator`` in that same order, and
a siamese call draws one value per draw from a generator seeded with the siamese seed: the
benchmark's stream (documented in ``dsa_augment.py``), so that the two can be compared value for
value for the same drawn parameters. The semantics are the official ones: the same family and
the same parameters for every image of a siamese call, whatever the batch size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class ParamDiffAug:
    """The official strengths (``utils.py::ParamDiffAug``)."""

    def __init__(self, **changes: float) -> None:
        self.prob_flip = 0.5
        self.ratio_scale = 1.2
        self.ratio_rotate = 15.0
        self.ratio_crop_pad = 0.125
        self.ratio_cutout = 0.5  # the size would be 0.5x0.5
        self.brightness = 1.0
        self.saturation = 2.0
        self.contrast = 0.5
        for name, value in changes.items():
            assert hasattr(self, name), name
            setattr(self, name, value)


class Draws:
    """The random numbers of one call, in the official order; siamese: one value shared by the batch."""

    def __init__(self, generator: torch.Generator | None, siamese: bool) -> None:
        self.generator = generator
        self.siamese = siamese

    def rand(self, n: int) -> list[float]:
        values = torch.rand(1 if self.siamese else n, generator=self.generator).tolist()
        return values * n if self.siamese else values

    def randint(self, low: int, high: int, n: int) -> list[int]:
        """Integers in [low, high), as ``torch.randint(low, high, size=...)``."""
        values = torch.randint(low, high, (1 if self.siamese else n,), generator=self.generator).tolist()
        return values * n if self.siamese else values

    def pick(self, k: int) -> int:
        return int(torch.randint(0, k, size=(1,), generator=self.generator).item())


def _resample(image: torch.Tensor, theta: list[list[float]]) -> torch.Tensor:
    theta_t = torch.tensor([theta], dtype=torch.float)
    grid = F.affine_grid(theta_t, [1, *image.shape], align_corners=True)
    return F.grid_sample(image[None], grid, align_corners=True)[0]


def rand_scale(x, param, draws):
    ratio = param.ratio_scale
    n = x.shape[0]
    sx = [u * (ratio - 1.0 / ratio) + 1.0 / ratio for u in draws.rand(n)]
    sy = [u * (ratio - 1.0 / ratio) + 1.0 / ratio for u in draws.rand(n)]
    return torch.stack([_resample(x[i], [[sx[i], 0, 0], [0, sy[i], 0]]) for i in range(n)])


def rand_rotate(x, param, draws):  # [-180, 180], 90: anticlockwise 90 degree
    ratio = param.ratio_rotate
    n = x.shape[0]
    theta = [(u - 0.5) * 2 * ratio / 180 * float(math.pi) for u in draws.rand(n)]
    return torch.stack([_resample(x[i], [[math.cos(theta[i]), math.sin(-theta[i]), 0],
                                         [math.sin(theta[i]), math.cos(theta[i]), 0]]) for i in range(n)])


def rand_flip(x, param, draws):
    n = x.shape[0]
    randf = draws.rand(n)
    return torch.stack([x[i].flip(2) if randf[i] < param.prob_flip else x[i] for i in range(n)])


def rand_brightness(x, param, draws):
    n = x.shape[0]
    randb = draws.rand(n)
    return torch.stack([x[i] + (randb[i] - 0.5) * param.brightness for i in range(n)])


def rand_saturation(x, param, draws):
    n = x.shape[0]
    rands = draws.rand(n)
    out = []
    for i in range(n):
        x_mean = x[i].mean(dim=0, keepdim=True)  # over the channels, per pixel
        out.append((x[i] - x_mean) * (rands[i] * param.saturation) + x_mean)
    return torch.stack(out)


def rand_contrast(x, param, draws):
    n = x.shape[0]
    randc = draws.rand(n)
    out = []
    for i in range(n):
        x_mean = x[i].mean()  # over channels and pixels
        out.append((x[i] - x_mean) * (randc[i] + param.contrast) + x_mean)
    return torch.stack(out)


def rand_crop(x, param, draws):
    """The image padded by one zero pixel, then read at (row + tx + 1, col + ty + 1), clamped onto the padding."""
    n, _, h, w = x.shape
    shift_x, shift_y = int(h * param.ratio_crop_pad + 0.5), int(w * param.ratio_crop_pad + 0.5)
    translation_x = draws.randint(-shift_x, shift_x + 1, n)
    translation_y = draws.randint(-shift_y, shift_y + 1, n)
    x_pad = F.pad(x, [1, 1, 1, 1])
    out = []
    for i in range(n):
        rows = []
        for r in range(h):
            pr = min(max(r + translation_x[i] + 1, 0), h + 1)
            row = []
            for c in range(w):
                pc = min(max(c + translation_y[i] + 1, 0), w + 1)
                row.append(x_pad[i, :, pr, pc])
            rows.append(torch.stack(row, dim=1))
        out.append(torch.stack(rows, dim=1))
    return torch.stack(out)


def rand_cutout(x, param, draws):
    """A mask of ones, zeroed over the cutout square at indices clamped into the image."""
    n, _, h, w = x.shape
    size = int(h * param.ratio_cutout + 0.5), int(w * param.ratio_cutout + 0.5)
    offset_x = draws.randint(0, h + (1 - size[0] % 2), n)
    offset_y = draws.randint(0, w + (1 - size[1] % 2), n)
    mask = torch.ones(n, h, w, dtype=x.dtype)
    for i in range(n):
        for a in range(size[0]):
            for b in range(size[1]):
                r = min(max(a + offset_x[i] - size[0] // 2, 0), h - 1)
                c = min(max(b + offset_y[i] - size[1] // 2, 0), w - 1)
                mask[i, r, c] = 0
    return x * mask.unsqueeze(1)


AUGMENT_FNS = {
    "color": [rand_brightness, rand_saturation, rand_contrast],
    "crop": [rand_crop],
    "cutout": [rand_cutout],
    "flip": [rand_flip],
    "scale": [rand_scale],
    "rotate": [rand_rotate],
}


def reference_diff_augment(x: torch.Tensor, strategy: str = "color_crop_cutout_flip_scale_rotate", *,
                           param: ParamDiffAug | None = None, mode: str = "S",
                           generator: torch.Generator | None = None, siamese_seed: int | None = None) -> torch.Tensor:
    """``DiffAugment(x, strategy, seed, param)`` with ``param.aug_mode = mode``; see the module docstring."""
    if strategy in ("None", "none", ""):
        return x
    param = param or ParamDiffAug()
    if siamese_seed is not None:
        draws = Draws(torch.Generator().manual_seed(int(siamese_seed)), siamese=True)
    else:
        draws = Draws(generator, siamese=False)
    if mode == "M":
        for p in strategy.split("_"):
            for f in AUGMENT_FNS[p]:
                x = f(x, param, draws)
    elif mode == "S":
        pbties = strategy.split("_")
        p = pbties[draws.pick(len(pbties))]
        for f in AUGMENT_FNS[p]:
            x = f(x, param, draws)
    else:
        raise ValueError(f"unknown augmentation mode: {mode}")
    return x.contiguous()
