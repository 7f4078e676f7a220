"""kdss_bench.methods.dm_settings: DM's official main_DM.py defaults and what its check refuses."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.dm_settings import DmSettings
from kdss_bench.methods.dsa_settings import DSA_STRATEGIES
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

CIFAR100 = SuiteFacts(budget=1000, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_are_main_dm_with_the_readme_cifar100_learning_rate():
    s = DmSettings()
    assert (s.iterations, s.lr_img, s.batch_real, s.init) == (20_000, 1.0, 256, "real")
    assert s.dsa_strategy == "color_crop_cutout_flip_scale_rotate" and s.dsa_strategy in DSA_STRATEGIES
    assert (s.embed_batches, s.checkpoint_every, s.model) == ("auto", 1000, "")
    assert "checkpoint_every" not in s.identity() and "iterations" in s.identity()


@pytest.mark.parametrize(("settings", "facts", "key", "fragment"), [
    (DmSettings(), dataclasses.replace(CIFAR100, budget=99), ("budget",), "smaller than the 100 source classes"),
    (DmSettings(), dataclasses.replace(CIFAR100, budget=50_001), ("budget",), "exceeds the 50000 training images"),
    (DmSettings(batch_real=0), CIFAR100, ("methods", "dm", "batch_real"), "at least 1, got 0"),
])
def test_check_refuses_what_cannot_run(settings, facts, key, fragment):
    with pytest.raises(SettingError) as caught:
        settings.check(facts, ("methods", "dm"))
    assert caught.value.key == key and fragment in caught.value.problem


def test_check_accepts_the_defaults_and_needs_no_teacher():
    DmSettings().check(dataclasses.replace(CIFAR100, has_teacher=False), ("methods", "dm"))


def test_choices_are_enforced_when_read():
    assert read(DmSettings, {"embed_batches": "per_class", "init": "noise"}).embed_batches == "per_class"
    for given in ({"init": "zeros"}, {"embed_batches": "batched"}, {"dsa_strategy": "color_blur"}):
        with pytest.raises(ConfigError, match="choose one of"):
            read(DmSettings, given)
