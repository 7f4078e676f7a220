"""kdss_bench.methods.kmeans_coreset_settings: pixels or teacher features, and a class-balanced budget."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.kmeans_coreset_settings import KmeansCoresetSettings
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

DIGITS = SuiteFacts(budget=20, source="digits", num_classes=10, train_images=1000, has_teacher=False)


def test_defaults_cluster_pixels_with_at_most_100_lloyd_steps():
    assert (KmeansCoresetSettings().features, KmeansCoresetSettings().iterations) == ("pixels", 100)


def test_teacher_features_need_a_teacher_pixels_do_not():
    KmeansCoresetSettings().check(DIGITS, ("methods", "kmeans"))
    KmeansCoresetSettings(features="teacher").check(dataclasses.replace(DIGITS, has_teacher=True),
                                                    ("methods", "kmeans"))
    with pytest.raises(SettingError) as caught:
        KmeansCoresetSettings(features="teacher").check(DIGITS, ("methods", "kmeans"))
    assert caught.value.key == ("methods", "kmeans", "features") and "features: pixels" in caught.value.problem


def test_the_budget_is_class_balanced_and_within_the_source():
    for budget, fragment in ((9, "smaller than the 10 source classes"), (1001, "exceeds the 1000 training")):
        with pytest.raises(SettingError, match=fragment):
            KmeansCoresetSettings().check(dataclasses.replace(DIGITS, budget=budget), ("methods", "kmeans"))


def test_features_choice_is_enforced_when_read():
    assert read(KmeansCoresetSettings, {"features": "teacher", "iterations": 5}).iterations == 5
    with pytest.raises(ConfigError, match="choose one of: pixels, teacher"):
        read(KmeansCoresetSettings, {"features": "clip"})
