"""kdss_bench.models.mobilenet: the official CIFAR MobileNetV2 (expansion 2, stride-1 stem, 1x1 shortcuts)."""

from __future__ import annotations

import torch
from torch import nn

from kdss_bench.models import build_model
from kdss_bench.models.mobilenet import MOBILENET_CFG, InvertedResidual


def test_mobilenet_uses_expansion_2_after_the_first_stage() -> None:
    model = build_model("mobilenetv2", num_outputs=5)
    blocks = [m for m in model.layers if isinstance(m, InvertedResidual)]
    assert len(blocks) == sum(num for _, _, num, _ in MOBILENET_CFG) == 17
    expansions = [b.conv1.out_channels // b.conv1.in_channels for b in blocks]
    assert expansions == [1] + [2] * 16
    assert model.conv1.stride == (1, 1)
    assert model.num_features == 1280


def test_only_stride_one_blocks_that_change_width_get_a_projection_shortcut() -> None:
    blocks = [m for m in build_model("mobilenetv2", num_outputs=2).layers]
    for block in blocks:
        changes = block.conv1.in_channels != block.conv3.out_channels
        projects = len(block.shortcut) > 0
        assert projects == (block.stride == 1 and changes)
        if projects:
            conv, norm = block.shortcut
            assert conv.kernel_size == (1, 1) and isinstance(norm, nn.BatchNorm2d)
    assert [b.stride for b in blocks].count(2) == 3, "three stride-2 stages: 32 px end at 4x4"


def _silenced(block: InvertedResidual) -> InvertedResidual:
    """The branch's last BN zeroed: the block's output is its shortcut alone."""
    with torch.no_grad():
        block.bn3.weight.zero_()
        block.bn3.bias.zero_()
    return block.eval()


def test_the_residual_is_added_only_at_stride_one() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    same = _silenced(InvertedResidual(8, 8, expansion=2, stride=1))
    torch.testing.assert_close(same(x), x)  # identity shortcut
    projected = _silenced(InvertedResidual(8, 12, expansion=2, stride=1))
    torch.testing.assert_close(projected(x), projected.shortcut(x))
    strided = _silenced(InvertedResidual(8, 8, expansion=2, stride=2))
    out = strided(x)
    assert out.shape == (2, 8, 3, 3) and torch.count_nonzero(out) == 0, "no residual at stride 2"


def test_the_embedding_is_globally_pooled_at_any_resolution() -> None:
    torch.manual_seed(0)
    model = build_model("mobilenetv2", in_shape=(3, 8, 8), num_outputs=3).eval()
    x = torch.randn(2, 3, 8, 8)
    features = model.embed(x)
    assert features.shape == (2, 1280) and (features >= 0).all()
    torch.testing.assert_close(model(x), model.fc(features))
