from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.train.augment import TestTransform, TrainAugment, normalize, to_float

MEAN = (0.2, 0.4, 0.6)
STD = (0.5, 0.25, 0.125)


def _images(n: int = 6, r: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, r, r), generator=g, dtype=torch.uint8)


def test_to_float_maps_uint8_to_unit_interval():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1)
    out = to_float(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out.flatten(), torch.tensor([0.0, 0.2, 1.0]))


def test_normalize_uses_given_stats_per_channel():
    x = torch.full((2, 3, 4, 4), 0.7)
    out = normalize(x, MEAN, STD)
    expected = torch.tensor([(0.7 - m) / s for m, s in zip(MEAN, STD, strict=True)])
    assert torch.allclose(out[0, :, 0, 0], expected)
    assert torch.equal(x, torch.full((2, 3, 4, 4), 0.7))  # input untouched


def test_test_transform_is_normalised_float_and_deterministic():
    x = _images()
    out = TestTransform(MEAN, STD)(x)
    assert torch.allclose(out, normalize(to_float(x), MEAN, STD), atol=1e-6)
    x_float = to_float(x)
    before = x_float.clone()
    TestTransform(MEAN, STD)(x_float)
    assert torch.equal(x_float, before)


def _candidate_windows(x: torch.Tensor, pad: int) -> list[torch.Tensor]:
    r = x.shape[-1]
    padded = F.pad(x, (pad, pad, pad, pad))
    windows = []
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            win = padded[:, dy : dy + r, dx : dx + r]
            windows += [win, win.flip(-1)]
    return windows


def test_every_crop_is_a_window_of_the_zero_padded_image_maybe_flipped():
    x = _images(n=16)
    aug = TrainAugment((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), crop_padding=4)
    out = aug.crop_and_flip(x, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == torch.uint8
    for i in range(x.shape[0]):
        assert any(torch.equal(out[i], w) for w in _candidate_windows(x[i], 4)), f"image {i} is no window"


def test_crops_vary_per_sample_and_include_shifts_and_flips():
    x = _images(n=1).expand(64, -1, -1, -1).contiguous()
    out = TrainAugment(MEAN, STD).crop_and_flip(x, generator=torch.Generator().manual_seed(3))
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) > 20  # 81 offsets x 2 flips: one shared draw would give a single image
    zero_border = [(o[:, 0, :] == 0).all() or (o[:, :, 0] == 0).all() for o in out]
    assert 32 < sum(bool(z) for z in zero_border) < 64  # most crops are shifted into the zero padding


def test_flip_only_mirrors_or_keeps_each_image():
    x = _images(n=32)
    out = TrainAugment(MEAN, STD, crop_padding=0, flip=True).crop_and_flip(
        x, generator=torch.Generator().manual_seed(0)
    )
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 4 < sum(flipped) < 28


def test_no_padding_no_flip_is_plain_normalisation():
    x = _images()
    out = TrainAugment(MEAN, STD, crop_padding=0, flip=False)(x)
    assert torch.allclose(out, normalize(to_float(x), MEAN, STD), atol=1e-6)


def test_train_augment_output_is_normalised_crop():
    x = _images(n=8)
    aug = TrainAugment(MEAN, STD)
    geo = aug.crop_and_flip(x, generator=torch.Generator().manual_seed(5))
    full = aug(x, generator=torch.Generator().manual_seed(5))
    assert full.dtype == torch.float32
    assert torch.allclose(full, normalize(to_float(geo), MEAN, STD), atol=1e-6)


def test_same_generator_seed_same_batch_and_float_input_accepted():
    x = _images(n=10)
    aug = TrainAugment(MEAN, STD)
    a = aug(x, generator=torch.Generator().manual_seed(7))
    b = aug(x, generator=torch.Generator().manual_seed(7))
    c = aug(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    from_float = aug(to_float(x), generator=torch.Generator().manual_seed(7))
    assert torch.allclose(from_float, a, atol=1e-6)


def test_rejects_unbatched_input():
    with pytest.raises(ValueError, match="N, C, H, W"):
        TrainAugment(MEAN, STD)(_images()[0])
