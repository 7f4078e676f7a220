"""The batched Barlow Twins augmentation matches torchvision's per-image ops."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from kdss_bench.teacher.ssl_augment import (
    BarlowTwinsAugment,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    hsv_to_rgb,
    resized_crop_batch,
    rgb_to_hsv,
)


@pytest.fixture()
def images() -> torch.Tensor:
    return torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("ours", "reference", "factors"),
    [
        (adjust_brightness, TF.adjust_brightness, (0.6, 1.4, 0.9, 1.1)),
        (adjust_contrast, TF.adjust_contrast, (0.6, 1.4, 0.9, 1.1)),
        (adjust_saturation, TF.adjust_saturation, (0.6, 1.4, 0.9, 1.1)),
        (adjust_hue, TF.adjust_hue, (-0.1, 0.1, 0.03, -0.07)),
    ],
)
def test_colour_ops_match_torchvision_per_image(images, ours, reference, factors) -> None:
    out = ours(images.clone(), torch.tensor(factors))
    expected = torch.stack([reference(img, f) for img, f in zip(images, factors, strict=True)])
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


def test_hsv_round_trip(images: torch.Tensor) -> None:
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(images)), images, atol=1e-5, rtol=0)


def test_batched_crop_resize_flip_matches_torchvision(images: torch.Tensor) -> None:
    boxes = torch.tensor([[2, 3, 6, 8], [0, 0, 12, 12], [5, 1, 7, 5], [1, 1, 3, 4]])
    flip = torch.tensor([False, True, False, True])

    out = resized_crop_batch(images, boxes, flip, 12)

    for img, box, flipped, got in zip(images, boxes.tolist(), flip, out, strict=True):
        expected = TF.resized_crop(img, *box, size=[12, 12], antialias=False)
        if flipped:
            expected = TF.horizontal_flip(expected)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_crop_boxes_fit_and_follow_the_scale_range() -> None:
    augment = BarlowTwinsAugment(mean=(0, 0, 0), std=(1, 1, 1))
    boxes = augment.crop_boxes(2000, 32, 32, torch.Generator().manual_seed(0), torch.device("cpu"))
    top, left, h, w = boxes.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 32).all() and (left + w <= 32).all()
    area = h * w / 1024
    assert area.min() >= 0.15 and area.max() <= 1.0
    assert area.mean() == pytest.approx(0.6, abs=0.05)  # mean of U(0.2, 1), slightly biased by rejection


def test_views_are_seeded_normalised_and_random() -> None:
    x = (torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    augment = BarlowTwinsAugment(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))

    a = augment(x, torch.Generator().manual_seed(7))
    b = augment(x, torch.Generator().manual_seed(7))
    c = augment(x, torch.Generator().manual_seed(8))

    assert a.dtype == torch.float32 and a.shape == x.shape
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)
    assert a.min() >= -2.0 - 1e-5 and a.max() <= 2.0 + 1e-5  # (x - 0.5) / 0.25 for x in [0, 1]


def test_grayscale_probability_one_gives_equal_channels() -> None:
    x = (torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2)) * 255).to(torch.uint8)
    augment = BarlowTwinsAugment(mean=(0, 0, 0), std=(1, 1, 1), grayscale_p=1.0, jitter_p=0.0)
    out = augment(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out[:, 0], out[:, 1])
    torch.testing.assert_close(out[:, 1], out[:, 2])
