"""The inference teacher computes the same features as the teacher it was made from."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.teacher.backbone import build_teacher_backbone, teacher_feature_dim
from kdss_bench.teacher.inference_teacher import fold_batchnorm, inference_teacher


def _teacher_with_trained_statistics(arch: str) -> nn.Module:
    """Fresh BatchNorms are identities; random statistics make a fold that is wrong show."""
    torch.manual_seed(0)
    teacher = build_teacher_backbone(arch, (3, 16, 16))
    for module in teacher.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_()
            module.bias.data.normal_()
    return teacher.eval()


def _batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("arch", ["resnet10", "convnet_8_16_bn"])
def test_folded_teacher_gives_the_same_features(arch):
    teacher = _teacher_with_trained_statistics(arch)
    x = torch.randn(6, 3, 16, 16)
    prepared = inference_teacher(teacher)
    assert _batchnorms(prepared) == 0, "every Conv -> BatchNorm pair is folded"
    with torch.no_grad():
        torch.testing.assert_close(prepared(x), teacher(x), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(prepared(x.contiguous(memory_format=torch.channels_last)), teacher(x),
                                   rtol=1e-4, atol=1e-4)


def test_the_original_teacher_is_left_untouched():
    teacher = _teacher_with_trained_statistics("convnet_8_16_bn").requires_grad_(True)
    before = _batchnorms(teacher)
    prepared = inference_teacher(teacher)
    assert _batchnorms(teacher) == before and all(p.requires_grad for p in teacher.parameters())
    assert not any(p.requires_grad for p in prepared.parameters())
    assert teacher_feature_dim(prepared) == teacher_feature_dim(teacher) == 16


def test_untraceable_models_are_kept_unfused():
    class DataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x):
            if x.sum() > 0:  # control flow on a value: torch.fx cannot trace it
                x = -x
            return self.bn(self.conv(x))

    model = DataDependent().eval()
    folded = fold_batchnorm(model)
    assert _batchnorms(folded) == 1 and folded is not model
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(folded(x), model(x))
