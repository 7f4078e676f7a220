"""kdss_bench.models.convnet: the official KRR-ST ConvNet family (widths per block, a norm per name)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models import build_model
from kdss_bench.models.convnet import NORMS, ConvNet


@pytest.mark.parametrize(
    ("name", "size", "features"),
    [
        ("convnet_128_256_512_bn", 32, 4 * 4 * 512),
        ("convnet_64_128_256_512_bn", 64, 4 * 4 * 512),
        ("convnet_64_128_256_512_bn", 32, 2 * 2 * 512),
        ("convnet_8_16_bn", 28, 7 * 7 * 16),
    ],
)
def test_convnet_feature_size_follows_resolution(name: str, size: int, features: int) -> None:
    model = build_model(name, in_shape=(3, size, size), num_outputs=3)
    assert model.num_features == features
    assert model.fc.in_features == features


def test_convnet_block_is_conv_norm_relu_avgpool() -> None:
    block = build_model("convnet_16_bn", in_shape=(3, 8, 8), num_outputs=2).layers[0].block
    conv, norm, relu, pool = block
    assert (conv.kernel_size, conv.stride, conv.padding, conv.bias is not None) == (
        (3, 3),
        (1, 1),
        (1, 1),
        True,
    )
    assert isinstance(norm, nn.BatchNorm2d) and norm.affine
    assert isinstance(relu, nn.ReLU)
    assert isinstance(pool, nn.AvgPool2d) and pool.kernel_size == 2


def test_each_norm_name_builds_its_layer() -> None:
    assert NORMS == ("bn", "in", "none")
    kinds = {norm: type(ConvNet([4], norm, in_shape=(3, 4, 4)).layers[0].block[1]) for norm in NORMS}
    assert kinds == {"bn": nn.BatchNorm2d, "in": nn.InstanceNorm2d, "none": nn.Identity}
    instance = ConvNet([4], "in", in_shape=(3, 4, 4)).layers[0].block[1]
    assert instance.affine and not instance.track_running_stats, "per-image statistics in train and eval"
    with pytest.raises(ValueError, match="unknown ConvNet norm 'ln'"):
        ConvNet([4], "ln")


def test_widths_must_be_positive_and_the_input_large_enough_for_every_block() -> None:
    for widths in ([], [8, 0]):
        with pytest.raises(ValueError, match="positive integers"):
            ConvNet(widths)
    with pytest.raises(ModelError, match="'convnet_4_4_4_bn' needs inputs of at least 8x8 pixels, got 4x4"):
        build_model("convnet_4_4_4_bn", in_shape=(3, 4, 4), num_outputs=2)
    assert build_model("convnet_4_4_4_bn", in_shape=(3, 8, 8), num_outputs=2).out_hw == (1, 1)


def test_module_names_follow_the_official_code() -> None:
    """layers.<i>.block.<j>: the official ConvNet checkpoints load without renaming."""
    keys = list(build_model("convnet_4_8_bn", in_shape=(3, 8, 8), num_outputs=2).state_dict())
    assert keys[:2] == ["layers.0.block.0.weight", "layers.0.block.0.bias"]
    assert "layers.1.block.1.running_mean" in keys and keys[-2:] == ["fc.weight", "fc.bias"]


def test_forward_is_the_head_on_the_flattened_trunk_and_each_block_halves_the_maps() -> None:
    torch.manual_seed(0)
    model = build_model("convnet_4_8_in", in_shape=(3, 12, 12), num_outputs=5).eval()
    x = torch.randn(2, 3, 12, 12)
    maps = model.trunk(x)
    assert maps.shape == (2, 8, 3, 3) and model.out_hw == (3, 3)
    torch.testing.assert_close(model.embed(x), maps.flatten(1))
    torch.testing.assert_close(model(x), model.fc(maps.flatten(1)))
    half = model.layers[0](x)
    assert half.shape == (2, 4, 6, 6) and (half >= 0).all(), "ReLU before the pooling"
    assert model.widths == (4, 8) and model.norm == "in"
