"""kdss_bench.teacher.backbone: the teacher networks whose features the distilled targets imitate."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import ModelError
from kdss_bench.teacher import build_teacher_backbone, freeze_teacher, teacher_feature_dim
from kdss_bench.teacher.backbone import PooledConvNetTrunk


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



def test_convnet_teacher_keeps_the_convnet_module_names_and_pools_the_trunk() -> None:
    torch.manual_seed(0)
    teacher = build_teacher_backbone("convnet_4_8_bn", (3, 8, 8))
    assert isinstance(teacher, PooledConvNetTrunk) and teacher.in_shape == (3, 8, 8)
    assert list(teacher.state_dict())[0] == "layers.0.block.0.weight" and "fc.weight" not in teacher.state_dict()
    teacher.eval()
    x = torch.randn(3, 3, 8, 8)
    maps = x
    for layer in teacher.layers:
        maps = layer(maps)
    torch.testing.assert_close(teacher(x), maps.mean(dim=(2, 3)))


def test_freeze_teacher_sets_eval_mode_and_turns_gradients_off() -> None:
    teacher = build_teacher_backbone("convnet_4_bn", (3, 8, 8))
    assert teacher.training and all(p.requires_grad for p in teacher.parameters())
    assert freeze_teacher(teacher) is teacher
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    before = teacher.layers[0].block[1].running_mean.clone()
    teacher(torch.randn(4, 3, 8, 8) + 5)
    torch.testing.assert_close(teacher.layers[0].block[1].running_mean, before)  # BN statistics frozen


def test_feature_dim_by_forward_pass_restores_train_mode_and_runs_on_the_teachers_device() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.BatchNorm2d(6), torch.nn.Flatten(1))
    model.in_shape = (3, 5, 5)
    before = model[1].running_mean.clone()
    assert teacher_feature_dim(model) == 6 * 3 * 3
    assert model.training, "the caller's mode is restored"
    torch.testing.assert_close(model[1].running_mean, before)  # measured in eval mode: no BN update
    assert teacher_feature_dim(torch.nn.Flatten(1)) == 3 * 32 * 32, "no parameters, default (3, 32, 32) input"
