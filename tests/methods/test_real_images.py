"""kdss_bench.methods.real_images: picked real images in network-input space, as evaluation normalises them."""

from __future__ import annotations

import torch

from kdss_bench.methods.real_images import normalized_train_images

from .tiny_sources import tiny_source


def test_picked_images_are_scaled_then_normalised_with_the_source_statistics():
    source = tiny_source()
    indices = torch.tensor([5, 0, 5], dtype=torch.int32)  # any int dtype, repeats allowed, order kept
    out = normalized_train_images(source, indices)
    mean = torch.tensor(source.mean).view(1, 3, 1, 1)
    std = torch.tensor(source.std).view(1, 3, 1, 1)
    expected = (source.x_train[[5, 0, 5]].float() / 255 - mean) / std
    torch.testing.assert_close(out, expected)
    assert out.dtype == torch.float32 and out.is_contiguous() and out.shape == (3, 3, 4, 4)


def test_the_whole_training_split_is_standardised_per_channel():
    source = tiny_source(per_class=20)
    out = normalized_train_images(source, torch.arange(source.x_train.shape[0]))
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(dim=(0, 2, 3)), torch.ones(3), atol=0.02, rtol=0)
