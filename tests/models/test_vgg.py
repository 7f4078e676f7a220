"""kdss_bench.models.vgg: VGG11 with BatchNorm, the head sized from the resolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models import build_model
from kdss_bench.models.vgg import VGG, VGG11_CFG


def test_vgg11_is_batchnorm_vgg_with_head_from_resolution() -> None:
    model = build_model("vgg11", in_shape=(3, 64, 64), num_outputs=5)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.features) == 8
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5
    assert model.num_features == 512 * 2 * 2


def test_five_poolings_need_32_pixels() -> None:
    assert VGG11_CFG.count("M") == 5
    with pytest.raises(ModelError, match="'vgg11' needs inputs of at least 32x32 pixels, got 16x16"):
        build_model("vgg11", in_shape=(3, 16, 16), num_outputs=2)
    assert build_model("vgg11", in_shape=(3, 32, 48), num_outputs=2).num_features == 512 * 1 * 1


def test_a_smaller_config_builds_and_forward_is_the_head_on_the_flattened_features() -> None:
    torch.manual_seed(0)
    model = VGG((4, "M", 8, "M"), in_shape=(3, 8, 8), num_outputs=3, name="tiny").eval()
    assert model.num_features == 8 * 2 * 2
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(model(x), model.fc(model.features(x).flatten(1)))
    with pytest.raises(ModelError, match="'tiny' needs inputs of at least 4x4"):
        VGG((4, "M", 8, "M"), in_shape=(3, 2, 2), name="tiny")
