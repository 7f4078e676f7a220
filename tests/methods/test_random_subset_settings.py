"""kdss_bench.methods.random_subset_settings: nothing to set, a class-balanced budget to check."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.random_subset_settings import RandomSubsetSettings
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

DIGITS = SuiteFacts(budget=20, source="digits", num_classes=10, train_images=1000, has_teacher=False)


def test_there_is_nothing_to_set():
    assert RandomSubsetSettings().as_dict() == {} and RandomSubsetSettings().identity() == {}
    with pytest.raises(ConfigError, match="unknown key"):
        read(RandomSubsetSettings, {"seed": 3}, "random")


def test_the_budget_is_class_balanced_and_within_the_source():
    RandomSubsetSettings().check(DIGITS, ("methods", "random"))
    for budget in (9, 1001):
        with pytest.raises(SettingError) as caught:
            RandomSubsetSettings().check(dataclasses.replace(DIGITS, budget=budget), ("methods", "random"))
        assert caught.value.key == ("budget",)
