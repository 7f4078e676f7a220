"""kdss_bench.methods.kip_settings: the KIP colab's defaults and what its check refuses."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import SettingError
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.suite_facts import SuiteFacts

CIFAR100 = SuiteFacts(budget=1000, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_are_the_kip_colab_and_rfad_kernel_settings():
    s = KipSettings()
    assert (s.outer_steps, s.lr, s.target_batch, s.ridge) == (1000, 0.04, 5000, 1e-6)
    assert (s.kernel_models, s.resample_every, s.checkpoint_every, s.model) == (8, 1, 500, "")


@pytest.mark.parametrize(("settings", "facts", "key", "fragment"), [
    (KipSettings(target_batch=99), CIFAR100, "target_batch", "cannot hold one of each of the 100 classes"),
    (KipSettings(target_batch=6000), dataclasses.replace(CIFAR100, train_images=5000), "target_batch",
     "target_batch 6000 needs 60 images of each class but 'cifar100' has 5000 training images"),
    (KipSettings(outer_steps=0), CIFAR100, "outer_steps", "at least 1"),
    (KipSettings(kernel_models=0), CIFAR100, "kernel_models", "at least 1"),
    (KipSettings(resample_every=0), CIFAR100, "resample_every", "at least 1"),
])
def test_check_refuses_what_cannot_run(settings, facts, key, fragment):
    with pytest.raises(SettingError) as caught:
        settings.check(facts, ("methods", "kip"))
    assert caught.value.key == ("methods", "kip", key) and fragment in caught.value.problem


def test_the_budget_and_a_target_batch_of_exactly_the_training_images_pass():
    KipSettings(target_batch=5000).check(dataclasses.replace(CIFAR100, train_images=5000), ("methods", "kip"))
    with pytest.raises(SettingError) as caught:
        KipSettings().check(dataclasses.replace(CIFAR100, budget=10), ("methods", "kip"))
    assert caught.value.key == ("budget",)
    KipSettings(target_batch=7).check(SuiteFacts(budget=10, source="mine"), ("methods", "kip"))  # classes unknown
