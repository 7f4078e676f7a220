"""kdss_bench.methods.dsa_settings: DSA's official main.py defaults, get_loops and what its check refuses."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.dsa_settings import DSA_STRATEGIES, OFFICIAL_LOOPS, DsaSettings, official_loops
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

CIFAR10 = SuiteFacts(budget=100, source="cifar10", num_classes=10, train_images=50_000)


def test_defaults_are_the_readme_dsa_command_at_ten_images_per_class():
    s = DsaSettings()
    assert (s.iterations, s.outer_loop, s.inner_loop, s.lr_img, s.lr_net) == (1000, 0, 0, 0.1, 0.01)
    assert (s.batch_real, s.batch_train, s.bn_batch_per_class) == (256, 256, 16)
    assert (s.init, s.dsa_strategy, s.dis_metric, s.checkpoint_every) == (
        "real", "color_crop_cutout_flip_scale_rotate", "ours", 50)
    assert DSA_STRATEGIES == ("color_crop_cutout_flip_scale_rotate", "color_crop_cutout_scale_rotate", "none")


def test_get_loops_is_the_official_table():
    assert OFFICIAL_LOOPS == {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}
    assert DsaSettings().loops(10) == (10, 50) and official_loops(1) == (1, 1)
    with pytest.raises(ConfigError) as caught:
        official_loops(7)
    assert "no outer/inner loop lengths for 7 images per class" in str(caught.value)
    assert "methods.dsa.outer_loop" in str(caught.value)


def test_given_loop_lengths_override_the_table_one_at_a_time():
    assert DsaSettings(outer_loop=3, inner_loop=4).loops(7) == (3, 4)  # both given: no table needed
    assert DsaSettings(outer_loop=3).loops(10) == (3, 50)
    assert DsaSettings(inner_loop=4).loops(20) == (20, 4)
    with pytest.raises(ConfigError):
        DsaSettings(outer_loop=3).loops(7)  # the inner length still comes from the table


@pytest.mark.parametrize(("settings", "facts", "key", "fragment"), [
    (DsaSettings(), dataclasses.replace(CIFAR10, budget=75), ("methods", "dsa", "outer_loop"), "7 images per class"),
    (DsaSettings(), dataclasses.replace(CIFAR10, budget=9), ("budget",), "smaller than the 10 source classes"),
    (DsaSettings(batch_train=0), CIFAR10, ("methods", "dsa", "batch_train"), "at least 1"),
    (DsaSettings(bn_batch_per_class=0), CIFAR10, ("methods", "dsa", "bn_batch_per_class"), "at least 1"),
    (DsaSettings(batch_real=0), CIFAR10, ("methods", "dsa", "batch_real"), "at least 1"),
])
def test_check_refuses_what_cannot_run(settings, facts, key, fragment):
    with pytest.raises(SettingError) as caught:
        settings.check(facts, ("methods", "dsa"))
    assert caught.value.key == key and fragment in caught.value.problem


def test_an_uneven_budget_uses_the_floor_of_the_images_per_class():
    DsaSettings().check(dataclasses.replace(CIFAR10, budget=105), ("methods", "dsa"))  # 10 or 11 per class: 10
    with pytest.raises(SettingError, match="7 images per class"):
        DsaSettings().check(dataclasses.replace(CIFAR10, budget=79), ("methods", "dsa"))
    DsaSettings(outer_loop=2, inner_loop=2).check(dataclasses.replace(CIFAR10, budget=79), ("methods", "dsa"))


def test_choices_are_enforced_when_read():
    assert read(DsaSettings, {"dis_metric": "mse"}).dis_metric == "mse"
    with pytest.raises(ConfigError, match="choose one of: ours, mse, cos"):
        read(DsaSettings, {"dis_metric": "l1"})
