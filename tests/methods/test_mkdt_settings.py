"""kdss_bench.methods.mkdt_settings: MKDT's official CIFAR-100 2% defaults and what its check refuses."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.mkdt_settings import OFFICIAL_DATASET, MkdtSettings
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

CIFAR100 = SuiteFacts(budget=1000, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_are_2_per_sh_on_distill_py_and_buffer_py():
    s = MkdtSettings()
    assert (s.iterations, s.syn_steps, s.expert_epochs, s.max_start_epoch) == (5000, 40, 2, 2)
    assert (s.lr_img, s.lr_labels, s.lr_lr, s.lr_teacher, s.batch_syn) == (1000.0, 1.0, 1e-4, 0.1, 256)
    assert (s.init, s.expert_order, s.normalization) == ("high_loss", "cycle", "source")
    assert (s.num_experts, s.train_epochs, s.expert_lr, s.expert_momentum) == (100, 20, 0.1, 0.9)
    assert (s.expert_weight_decay, s.expert_batch, s.expert_seed, s.checkpoint_every) == (1e-4, 256, 0, 500)
    MkdtSettings().check(CIFAR100, ("methods", "mkdt"))


@pytest.mark.parametrize(("settings", "facts", "key", "fragment"), [
    (MkdtSettings(), dataclasses.replace(CIFAR100, has_teacher=False), ("methods", "mkdt"), "needs a teacher"),
    (MkdtSettings(), dataclasses.replace(CIFAR100, budget=60_000), ("budget",), "exceeds the 50000"),
    (MkdtSettings(batch_syn=-1), CIFAR100, ("methods", "mkdt", "batch_syn"), "must be >= 0"),
    (MkdtSettings(max_start_epoch=20), CIFAR100, ("methods", "mkdt", "train_epochs"), "= 21 exceeds train_epochs 20"),
    (MkdtSettings(normalization="official"), dataclasses.replace(CIFAR100, source="digits"),
     ("methods", "mkdt", "normalization"), "not 'digits'; use normalization: source"),
    (MkdtSettings(train_epochs=0), CIFAR100, ("methods", "mkdt", "train_epochs"), "at least 1"),
])
def test_check_refuses_what_cannot_run(settings, facts, key, fragment):
    with pytest.raises(SettingError) as caught:
        settings.check(facts, ("methods", "mkdt"))
    assert caught.value.key == key and fragment in caught.value.problem


def test_a_budget_below_the_classes_is_fine_and_batch_syn_zero_means_all():
    """MKDT distils with feature targets, not per class: no class-balanced budget."""
    MkdtSettings(batch_syn=0).check(dataclasses.replace(CIFAR100, budget=50), ("methods", "mkdt"))


@pytest.mark.parametrize("source", sorted(OFFICIAL_DATASET))
def test_official_normalisation_is_offered_for_the_sources_mkdt_has_constants_for(source):
    assert OFFICIAL_DATASET[source] in ("CIFAR10", "CIFAR100", "Tiny", "ImageNet")
    MkdtSettings(normalization="official").check(dataclasses.replace(CIFAR100, source=source), ("methods", "mkdt"))


def test_choices_are_enforced_when_read():
    assert read(MkdtSettings, {"expert_order": "single", "init": "random"}, "mkdt").expert_order == "single"
    with pytest.raises(ConfigError, match="choose one of: cycle, single"):
        read(MkdtSettings, {"expert_order": "random"}, "mkdt")
