"""kdss_bench.teacher.features: teacher features of many images, batched, outside autograd."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.teacher import build_teacher_backbone, freeze_teacher, teacher_features


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


def test_features_are_float32_on_the_inputs_device_and_the_batch_size_must_be_positive() -> None:
    teacher = freeze_teacher(build_teacher_backbone("convnet_4_bn", (3, 8, 8)))
    x = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    features = teacher_features(teacher, x, batch_size=2)
    assert features.dtype == torch.float32 and features.device == x.device and features.shape == (5, 4)
    with torch.no_grad():
        torch.testing.assert_close(features, teacher(x.float()))
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        teacher_features(teacher, x, batch_size=0)
    torch.testing.assert_close(teacher_features(teacher, x, batch_size=1), teacher_features(teacher, x, batch_size=512))
