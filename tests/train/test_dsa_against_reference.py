"""kdss_bench's batched DSA against the plain, loop-based statement of the official DiffAugment
(``reference_dsa_augment.py``) for the same drawn parameters: op by op, whole strategies in both modes,
siamese calls of different batch sizes, non-default strengths, and the gradients."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.train.dsa_augment import FAMILIES, DiffAugment, DsaParams

from .reference_dsa_augment import AUGMENT_FNS, ParamDiffAug, reference_diff_augment

ALL = "color_crop_cutout_flip_scale_rotate"


def images(n: int, r: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, r, r, generator=g) * 0.6 + 0.2


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(ours: torch.Tensor, reference: torch.Tensor) -> None:
    torch.testing.assert_close(ours, reference, atol=2e-5, rtol=1e-5)


def test_the_default_strengths_are_param_diff_aug():
    ours, official = DsaParams(), ParamDiffAug()
    assert (ours.flip, ours.scale, ours.rotate, ours.crop, ours.cutout) == (
        official.prob_flip, official.ratio_scale, official.ratio_rotate, official.ratio_crop_pad, official.ratio_cutout)
    assert (ours.brightness, ours.saturation, ours.contrast) == (official.brightness, official.saturation,
                                                                 official.contrast)
    assert set(FAMILIES) == set(AUGMENT_FNS)
    assert {f: len(ops) for f, ops in FAMILIES.items()} == {f: len(ops) for f, ops in AUGMENT_FNS.items()}


@pytest.mark.parametrize("family", list(AUGMENT_FNS))
@pytest.mark.parametrize("size", [8, 9])  # even and odd sides: the cutout's range depends on the parity
def test_each_family_matches_the_reference_per_image(family, size):
    x = images(6, size, seed=size)
    for seed in range(3):
        same(DiffAugment(family, mode="M")(x, generator=gen(seed)),
             reference_diff_augment(x, family, mode="M", generator=gen(seed)))


@pytest.mark.parametrize("mode", ["M", "S"])
def test_the_whole_strategy_matches_the_reference(mode):
    x = images(5, 10)
    picked = set()
    for seed in range(12 if mode == "S" else 3):
        ours = DiffAugment(ALL, mode=mode)(x, generator=gen(seed))
        same(ours, reference_diff_augment(x, ALL, mode=mode, generator=gen(seed)))
        if mode == "S":
            picked.add(torch.randint(0, 6, (1,), generator=gen(seed)).item())
    assert mode == "M" or len(picked) >= 4, "mode S was compared on several families"


@pytest.mark.parametrize("mode", ["M", "S"])
def test_siamese_calls_match_the_reference_for_any_batch_size(mode):
    x = images(7, 9)
    for seed in range(6):
        small = DiffAugment(ALL, mode=mode)(x[:3], siamese_seed=seed)
        large = DiffAugment(ALL, mode=mode)(x, siamese_seed=seed)
        same(small, reference_diff_augment(x[:3], ALL, mode=mode, siamese_seed=seed))
        same(large, reference_diff_augment(x, ALL, mode=mode, siamese_seed=seed))
        same(small, large[:3])


def test_non_default_strengths_match_the_reference():
    ours = DsaParams(scale=1.5, rotate=40.0, crop=0.25, cutout=0.25, brightness=0.4, saturation=1.0,
                     contrast=0.2, flip=0.8)
    official = ParamDiffAug(ratio_scale=1.5, ratio_rotate=40.0, ratio_crop_pad=0.25, ratio_cutout=0.25,
                            brightness=0.4, saturation=1.0, contrast=0.2, prob_flip=0.8)
    x = images(6, 12, seed=3)
    for seed in range(3):
        same(DiffAugment(ALL, params=ours, mode="M")(x, generator=gen(seed)),
             reference_diff_augment(x, ALL, param=official, mode="M", generator=gen(seed)))


def test_gradients_with_respect_to_the_images_match_the_reference():
    weights = torch.randn(4, 3, 8, 8, generator=gen(9))
    grads = []
    for augment in (lambda x: DiffAugment(ALL, mode="M")(x, generator=gen(4)),
                    lambda x: reference_diff_augment(x, ALL, mode="M", generator=gen(4))):
        x = images(4, 8, seed=1).requires_grad_(True)
        (augment(x) * weights).sum().backward()
        grads.append(x.grad)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1], atol=2e-5, rtol=1e-5)


def test_the_reference_is_not_trivially_the_identity():
    """A guard for the comparisons above: every family changes the images."""
    x = images(4, 8)
    for family in AUGMENT_FNS:
        changed = [not torch.equal(reference_diff_augment(x, family, mode="M", generator=gen(s)), x)
                   for s in range(4)]
        assert any(changed), family
