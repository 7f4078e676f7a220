"""kdss_bench.models.resnet: torchvision's ResNet with the official CIFAR stem (3x3, stride 1, padding 2)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models import build_model
from kdss_bench.models.resnet import BLOCKS_PER_STAGE, build_resnet


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
    assert depth == {"resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2]} == {k: list(v) for k, v in
                                                                             BLOCKS_PER_STAGE.items()}


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


def test_the_stem_keeps_pytorchs_default_init_while_the_others_are_kaiming() -> None:
    """conv1 is replaced after torchvision's init loop (as the official code does): uniform, bounded."""
    torch.manual_seed(0)
    model = build_resnet("resnet18", num_outputs=2)
    bound = 1 / (3 * 3 * 3) ** 0.5  # kaiming_uniform(a=sqrt(5)) of a 27-input conv
    assert model.conv1.weight.abs().max() <= bound
    other = model.layer1[0].conv1.weight.detach()  # kaiming_normal(fan_out): std sqrt(2 / (64 * 9))
    assert abs(float(other.std()) - (2 / (64 * 9)) ** 0.5) < 0.005


def test_embed_is_the_pooled_512_features_at_any_resolution_and_forward_the_head_on_it() -> None:
    torch.manual_seed(0)
    model = build_resnet("resnet10", in_shape=(1, 16, 16), num_outputs=4).eval()
    assert model.conv1.in_channels == 1 and model.num_features == 512
    x = torch.randn(2, 1, 16, 16)
    features = model.embed(x)
    assert features.shape == (2, 512)
    torch.testing.assert_close(model(x), model.fc(features))
    with pytest.raises(ModelError, match="has no channels"):
        build_resnet("resnet10", in_shape=(0, 16, 16), num_outputs=4)
