"""kdss_bench.models.alexnet: the CIFAR-style AlexNet with BatchNorm of the official code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models import build_model


def test_alexnet_is_cifar_style() -> None:
    model = build_model("alexnet", in_shape=(3, 32, 32), num_outputs=5)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [
        (128, 5),
        (192, 5),
        (256, 3),
        (192, 3),
        (192, 3),
    ]
    assert model.num_features == 192 * 4 * 4


def test_convolutions_keep_the_size_and_three_poolings_divide_it_by_eight() -> None:
    model = build_model("alexnet", in_shape=(3, 16, 24), num_outputs=2).eval()
    assert all(c.padding[0] == c.kernel_size[0] // 2 for c in model.features if isinstance(c, nn.Conv2d))
    assert model.num_features == 192 * 2 * 3
    x = torch.randn(2, 3, 16, 24)
    assert model.features(x).shape == (2, 192, 2, 3)
    torch.testing.assert_close(model(x), model.fc(model.embed(x)))
    with pytest.raises(ModelError, match="'alexnet' needs inputs of at least 8x8 pixels, got 4x8"):
        build_model("alexnet", in_shape=(3, 4, 8), num_outputs=2)
