"""Architecture facts of the official code that results depend on."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from kdss_bench.models import build_model
from kdss_bench.models.mobilenet import MOBILENET_CFG, InvertedResidual


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


@pytest.mark.parametrize("name", ["resnet10", "resnet18"])
def test_resnet_stem_is_3x3_stride1_padding2_without_maxpool(name: str) -> None:
    model = build_model(name, num_outputs=10).eval()
    conv1 = model.conv1
    assert (conv1.kernel_size, conv1.stride, conv1.padding, conv1.bias) == ((3, 3), (1, 1), (2, 2), None)
    assert isinstance(model.maxpool, nn.Identity)
    with torch.no_grad():
        stem_out = model.stem(torch.zeros(1, 3, 32, 32))
    assert stem_out.shape == (1, 64, 34, 34)


def test_resnet_blocks_per_stage() -> None:
    depth = {
        name: [len(getattr(build_model(name, num_outputs=2), f"layer{i}")) for i in range(1, 5)]
        for name in ("resnet10", "resnet18")
    }
    assert depth == {"resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2]}


def test_resnet_zero_inits_the_last_bn_of_each_residual_branch() -> None:
    model = build_model("resnet18", num_outputs=2)
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in stage:
            assert torch.count_nonzero(block.bn2.weight) == 0
            assert torch.count_nonzero(block.bn1.weight) > 0


def test_resnet18_state_dict_keys_equal_torchvision_resnet18() -> None:
    ours = build_model("resnet18", num_outputs=1000).state_dict()
    reference = torchvision.models.resnet18().state_dict()
    assert list(ours) == [k for k in reference if not k.startswith("maxpool")]
    differing = {k for k in ours if ours[k].shape != reference[k].shape}
    assert differing == {"conv1.weight"}  # 3x3 CIFAR stem instead of 7x7
    assert ours["conv1.weight"].shape == (64, 3, 3, 3)


def test_vgg11_is_batchnorm_vgg_with_head_from_resolution() -> None:
    model = build_model("vgg11", in_shape=(3, 64, 64), num_outputs=5)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.features) == 8
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5
    assert model.num_features == 512 * 2 * 2


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


def test_mobilenet_uses_expansion_2_after_the_first_stage() -> None:
    model = build_model("mobilenetv2", num_outputs=5)
    blocks = [m for m in model.layers if isinstance(m, InvertedResidual)]
    assert len(blocks) == sum(num for _, _, num, _ in MOBILENET_CFG) == 17
    expansions = [b.conv1.out_channels // b.conv1.in_channels for b in blocks]
    assert expansions == [1] + [2] * 16
    assert model.conv1.stride == (1, 1)
    assert model.num_features == 1280


def test_non_rgb_inputs_change_the_first_conv_only() -> None:
    for name in ("convnet_8_bn", "resnet10", "vgg11", "alexnet", "mobilenetv2"):
        model = build_model(name, in_shape=(1, 32, 32), num_outputs=2)
        first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        assert first_conv.in_channels == 1, name
