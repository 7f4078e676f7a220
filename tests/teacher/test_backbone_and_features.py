"""Teacher backbones and batched feature extraction."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import ModelError
from kdss_bench.teacher import build_teacher_backbone, freeze_teacher, teacher_feature_dim, teacher_features


def test_resnet_teacher_outputs_512_pooled_features() -> None:
    teacher = freeze_teacher(build_teacher_backbone("resnet18", (3, 32, 32)))
    assert isinstance(teacher.fc, torch.nn.Identity)
    assert teacher_feature_dim(teacher) == 512
    assert teacher(torch.randn(2, 3, 32, 32)).shape == (2, 512)


@pytest.mark.parametrize("size", [16, 24])
def test_convnet_teacher_is_globally_pooled_to_the_last_width(size: int) -> None:
    teacher = freeze_teacher(build_teacher_backbone("convnet_8_16_bn", (3, size, size)))
    assert teacher_feature_dim(teacher) == 16
    assert teacher(torch.randn(2, 3, size, size)).shape == (2, 16)


def test_feature_dim_falls_back_to_a_forward_pass() -> None:
    teacher = freeze_teacher(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 5)))
    assert teacher_feature_dim(teacher) == 5


def test_non_backbone_arch_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="teacher arch 'vgg11'"):
        build_teacher_backbone("vgg11", (3, 32, 32))
    with pytest.raises(ModelError, match="unknown model"):
        build_teacher_backbone("resnet50", (3, 32, 32))


def test_features_match_one_big_batch_and_are_ordinary_tensors() -> None:
    torch.manual_seed(0)
    teacher = freeze_teacher(build_teacher_backbone("convnet_4_8_bn", (3, 8, 8)))
    x = torch.randn(7, 3, 8, 8)

    features = teacher_features(teacher, x, batch_size=3)

    with torch.no_grad():
        torch.testing.assert_close(features, teacher(x))
    assert not features.is_inference()
    features.requires_grad_(True)  # KRR-ST learns its targets from these
    assert teacher_features(teacher, x[:0]).shape == (0, 8)


def test_features_refuse_a_teacher_in_train_mode() -> None:
    teacher = build_teacher_backbone("convnet_4_bn", (3, 8, 8))
    with pytest.raises(ValueError, match="eval mode"):
        teacher_features(teacher, torch.randn(2, 3, 8, 8))
