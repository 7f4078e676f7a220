from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.errors import ConfigError
from kdss_bench.train.dsa_augment import (
    FAMILIES,
    DiffAugment,
    DsaParams,
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    cutout,
    flip,
    rotate,
    scale,
    translate,
)


def _images(n: int = 8, r: int = 8, seed: int = 0, low: float = 0.2, high: float = 0.8) -> torch.Tensor:
    """Random float images with values in [low, high]: never exactly zero, so zeroed pixels stand out."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, r, r, generator=g) * (high - low) + low


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _window(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference shift: out[i, j] = x[i + dy, j + dx], zero outside (slice of a zero-padded copy)."""
    r = x.shape[-1]
    pad = max(abs(dy), abs(dx))
    padded = F.pad(x, (pad, pad, pad, pad))
    return padded[..., pad + dy : pad + dy + r, pad + dx : pad + dx + r]


# --- the deterministic ops -------------------------------------------------------------------


def test_flip_mirrors_exactly_the_selected_images():
    x = _images(n=4)
    out = flip(x, torch.tensor([True, False, True, False]))
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[2], x[2].flip(-1))
    assert torch.equal(out[1], x[1]) and torch.equal(out[3], x[3])


def test_translate_is_a_shifted_window_with_zero_fill():
    x = _images(n=3)
    dy, dx = torch.tensor([2, -1, 0]), torch.tensor([-3, 0, 9])
    out = translate(x, dy, dx)
    for i in range(3):
        assert torch.equal(out[i], _window(x[i], int(dy[i]), int(dx[i]))), i
    assert (out[0, :, -2:, :] == 0).all() and (out[0, :, :, :3] == 0).all()
    assert (out[2] == 0).all()  # shifted by more than the side: nothing left


def test_cutout_zeros_one_square_clipped_by_the_border():
    x = _images(n=2)
    out = cutout(x, torch.tensor([4, 0]), torch.tensor([3, 7]), (4, 4))
    zero = out == 0
    expected = torch.zeros_like(zero)
    expected[0, :, 2:6, 1:5] = True  # rows/cols start at centre - size // 2
    expected[1, :, 0:2, 5:8] = True  # clipped at the top-right corner
    assert torch.equal(zero, expected)
    assert torch.equal(out[~expected], x[~expected])


def test_brightness_adds_the_shift():
    x = _images(n=2)
    out = adjust_brightness(x, torch.tensor([0.25, -0.1]))
    assert torch.allclose(out[0], x[0] + 0.25) and torch.allclose(out[1], x[1] - 0.1)


def test_saturation_scales_distance_from_the_pixel_grey_value():
    x = _images(n=3)
    out = adjust_saturation(x, torch.tensor([0.0, 1.0, 2.0]))
    grey = x.mean(dim=1, keepdim=True)
    assert torch.allclose(out[0], grey[0].expand(3, -1, -1), atol=1e-6)  # factor 0: grey image
    assert torch.allclose(out[1], x[1], atol=1e-6)
    assert torch.allclose(out[2] - grey[2], 2 * (x[2] - grey[2]), atol=1e-6)
    assert torch.allclose(out.mean(dim=1), grey.squeeze(1), atol=1e-6)  # grey value kept


def test_contrast_keeps_the_image_mean_and_scales_the_spread():
    x = _images(n=2)
    out = adjust_contrast(x, torch.tensor([0.5, 1.5]))
    assert torch.allclose(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-6)
    assert torch.allclose(out.std(dim=(1, 2, 3)), x.std(dim=(1, 2, 3)) * torch.tensor([0.5, 1.5]), atol=1e-5)


def test_rotate_by_zero_and_scale_one_are_the_identity():
    x = _images(n=3)
    assert torch.allclose(rotate(x, torch.zeros(3)), x, atol=1e-5)
    assert torch.allclose(scale(x, torch.ones(3), torch.ones(3)), x, atol=1e-5)


def test_rotate_quarter_turn_is_anticlockwise_rot90():
    x = _images(n=2)
    assert torch.allclose(rotate(x, torch.full((2,), math.pi / 2)), torch.rot90(x, 1, dims=(2, 3)), atol=1e-4)


def test_scale_above_one_shrinks_the_content_into_a_zero_border():
    x = _images(n=1, r=9)
    out = scale(x, torch.tensor([2.0]), torch.tensor([2.0]))
    assert torch.allclose(out[0, :, 4, 4], x[0, :, 4, 4], atol=1e-6)  # the centre stays
    assert (out[0, :, :2, :] == 0).all() and (out[0, :, :, -2:] == 0).all()  # corners sample outside
    assert torch.allclose(out[0, :, 2, 2], x[0, :, 0, 0], atol=1e-6)  # the old corner moved inwards


# --- the random driver ------------------------------------------------------------------------


def test_random_flip_flips_some_images_and_keeps_the_rest():
    x = _images(n=32)
    out = DiffAugment("flip", mode="M")(x, generator=_gen(0))
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 4 < sum(flipped) < 28


def test_random_crop_is_a_zero_filled_window_within_the_shift_range():
    x = _images(n=24, r=16)
    out = DiffAugment("crop", mode="M")(x, generator=_gen(1))
    limit = int(16 * DsaParams().crop + 0.5)  # 2 pixels
    shifts = set()
    for i in range(x.shape[0]):
        found = [(dy, dx) for dy in range(-limit, limit + 1) for dx in range(-limit, limit + 1)
                 if torch.equal(out[i], _window(x[i], dy, dx))]
        assert found, f"image {i} is no window of the zero-padded image"
        shifts.add(found[0])
    assert len(shifts) > 5  # per-image shifts


def test_random_cutout_zeros_a_single_square_per_image():
    x = _images(n=16, r=8)
    out = DiffAugment("cutout", mode="M")(x, generator=_gen(2))
    side = int(8 * DsaParams().cutout + 0.5)
    for i in range(x.shape[0]):
        zero = (out[i] == 0).all(dim=0)
        rows, cols = zero.any(dim=1).nonzero().flatten(), zero.any(dim=0).nonzero().flatten()
        assert 1 <= len(rows) <= side and 1 <= len(cols) <= side
        box = zero[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all() and int(zero.sum()) == box.numel()  # one solid rectangle
        assert torch.equal(out[i][:, ~zero], x[i][:, ~zero])


def test_random_color_shifts_each_image_mean_by_at_most_half():
    x = _images(n=32)
    out = DiffAugment("color", mode="M")(x, generator=_gen(3))
    shift = out.mean(dim=(1, 2, 3)) - x.mean(dim=(1, 2, 3))  # saturation and contrast keep the mean
    assert (shift.abs() <= 0.5 + 1e-5).all()
    assert shift.std() > 0.1  # per-image brightness
    spread_ratio = (out - out.mean(dim=(1, 2, 3), keepdim=True)).abs().mean(dim=(1, 2, 3)) / (
        x - x.mean(dim=(1, 2, 3), keepdim=True)
    ).abs().mean(dim=(1, 2, 3))
    assert spread_ratio.max() / spread_ratio.min() > 2  # saturation x contrast factors vary per image


@pytest.mark.parametrize("strategy", [*FAMILIES, "color_crop_cutout_flip_scale_rotate"])
def test_gradients_reach_the_input(strategy):
    x = _images(n=4).requires_grad_(True)
    weights = torch.randn(4, 3, 8, 8, generator=_gen(4))
    out = DiffAugment(strategy, mode="M")(x, generator=_gen(5))
    (out * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["S", "M"])
def test_siamese_seed_gives_one_transformation_for_any_batch_size(mode):
    x = _images(n=7, r=12)
    augment = DiffAugment(mode=mode)
    changed = 0
    for seed in range(12):
        small = augment(x[:3], siamese_seed=seed)
        large = augment(x, siamese_seed=seed)
        for i in range(3):
            assert torch.allclose(small[i], large[i], atol=1e-6), (seed, i)
        same_image = augment(x[:1].expand(5, -1, -1, -1), siamese_seed=seed)
        assert torch.allclose(same_image, same_image[:1].expand(5, -1, -1, -1), atol=1e-6)
        changed += not torch.allclose(augment(x, siamese_seed=seed + 100), large, atol=1e-4)
    assert changed >= 10  # other seeds give other transformations


def test_without_siamese_identical_images_get_different_transformations():
    one = _images(n=1).expand(6, -1, -1, -1)
    out = DiffAugment(mode="M")(one, generator=_gen(6))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 6


def test_same_generator_seed_same_output():
    x = _images(n=6)
    augment = DiffAugment()
    outs = [augment(x, generator=_gen(s)) for s in (7, 7, 8, 9, 10)]
    assert torch.equal(outs[0], outs[1])
    assert any(not torch.equal(outs[0], o) for o in outs[2:])


def _kind(out: torch.Tensor, x: torch.Tensor) -> str:
    """'cutout' (zeros, the rest untouched), 'color' (no zeros, all changed) or 'both'."""
    zeros = (out == 0).any()
    untouched = out == x
    if zeros and (untouched | (out == 0)).all():
        return "cutout"
    if not zeros and not untouched.any():
        return "color"
    return "both" if zeros and not untouched.any() else "other"


def test_mode_s_applies_exactly_one_family_per_call_and_mode_m_applies_all():
    x = _images(n=4)
    single, multiple = DiffAugment("color_cutout", mode="S"), DiffAugment("color_cutout", mode="M")
    g = _gen(11)
    kinds = []
    for _ in range(30):
        out = single(x, generator=g)
        per_image = {_kind(o, xi) for o, xi in zip(out, x, strict=True)}
        assert len(per_image) == 1  # one family for the whole batch
        kinds += per_image
    assert set(kinds) == {"color", "cutout"}
    assert all(_kind(o, xi) == "both" for o, xi in zip(multiple(x, generator=g), x, strict=True))


def test_no_strategy_returns_the_input_and_bad_settings_are_config_errors():
    x = _images(n=2)
    assert DiffAugment("none")(x, generator=_gen(0)) is x
    with pytest.raises(ConfigError, match="unknown op family 'blur'"):
        DiffAugment("color_blur")
    with pytest.raises(ConfigError, match="mode"):
        DiffAugment(mode="X")
    with pytest.raises(ConfigError, match="scale"):
        DsaParams(scale=0.8)
    with pytest.raises(ValueError, match="N, C, H, W"):
        DiffAugment()(x[0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_the_input_device_and_matches_cpu():
    x = _images(n=8, r=16)
    augment = DiffAugment(mode="M")
    on_gpu = augment(x.cuda(), generator=_gen(12))
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), augment(x, generator=_gen(12)), atol=1e-4)
    siamese = augment(x.cuda(), siamese_seed=3)
    assert torch.allclose(siamese.cpu(), augment(x, siamese_seed=3), atol=1e-4)
