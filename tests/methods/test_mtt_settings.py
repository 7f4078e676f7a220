"""kdss_bench.methods.mtt_settings: MTT's official CIFAR-100 ten-per-class defaults and its check."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import SettingError
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.methods.suite_facts import SuiteFacts

CIFAR100 = SuiteFacts(budget=1000, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_are_the_authors_table_and_buffer_py():
    s = MttSettings()
    assert (s.iterations, s.syn_steps, s.expert_epochs, s.max_start_epoch) == (5000, 20, 2, 20)
    assert (s.lr_img, s.lr_lr, s.lr_teacher, s.batch_syn) == (1000.0, 1e-5, 0.01, 0)
    assert (s.pix_init, s.dsa, s.dsa_strategy) == ("real", True, "color_crop_cutout_flip_scale_rotate")
    assert (s.num_experts, s.train_epochs, s.expert_lr, s.expert_momentum) == (100, 50, 0.01, 0.0)
    assert (s.expert_weight_decay, s.expert_batch, s.expert_seed, s.checkpoint_every) == (0.0, 256, 0, 500)
    MttSettings().check(CIFAR100, ("methods", "mtt"))


def test_every_target_epoch_must_lie_on_the_trajectories():
    MttSettings(max_start_epoch=49, expert_epochs=2, train_epochs=50).check(CIFAR100, ("methods", "mtt"))
    with pytest.raises(SettingError) as caught:
        MttSettings(max_start_epoch=50, expert_epochs=2, train_epochs=50).check(CIFAR100, ("methods", "mtt"))
    assert caught.value.key == ("methods", "mtt", "train_epochs")
    assert "max_start_epoch - 1 + expert_epochs = 51 exceeds train_epochs 50" in caught.value.problem


@pytest.mark.parametrize("name", ["num_experts", "syn_steps", "max_start_epoch", "expert_epochs", "expert_batch"])
def test_counts_must_be_positive(name):
    with pytest.raises(SettingError) as caught:
        dataclasses.replace(MttSettings(), **{name: 0}).check(CIFAR100, ("methods", "mtt"))
    assert caught.value.key == ("methods", "mtt", name)


def test_an_unknown_dsa_family_and_an_unbalanced_budget_are_refused():
    with pytest.raises(SettingError) as caught:
        MttSettings(dsa_strategy="color_blur").check(CIFAR100, ("methods", "mtt"))
    assert caught.value.key == ("methods", "mtt", "dsa_strategy") and "unknown op family 'blur'" in caught.value.problem
    MttSettings(dsa_strategy="none").check(CIFAR100, ("methods", "mtt"))
    with pytest.raises(SettingError) as caught:
        MttSettings().check(dataclasses.replace(CIFAR100, budget=99), ("methods", "mtt"))
    assert caught.value.key == ("budget",)
