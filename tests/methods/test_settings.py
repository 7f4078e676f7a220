"""Method settings: typed validation from YAML, and which fields make a result different."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kdss_bench.config_reader import ConfigReader
from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.dsa_settings import DsaSettings
from kdss_bench.methods.import_set_settings import ImportSetSettings
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.kmeans_coreset_settings import KmeansCoresetSettings
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.methods.random_subset_settings import RandomSubsetSettings
from kdss_bench.methods.settings import KrrStSettings, read_settings
from kdss_bench.methods.suite_facts import SuiteFacts


def read(given):
    return read_settings(KrrStSettings, given, ConfigReader(Path("suite.yaml")), ("methods", "krr_st"))


def test_defaults_are_the_official_cifar100_configuration():
    s = KrrStSettings()
    assert (s.outer_steps, s.real_batch, s.pool_size, s.online_iterations) == (160_000, 1024, 10, 1000)
    assert (s.online_lr, s.online_weight_decay, s.ridge, s.lr_end_factor) == (0.1, 1e-3, 1e-6, 1e-3)
    assert (s.pool_reset, s.real_augment, s.xs_init, s.grad_clip) == ("paper", "crop_flip", "raw", 0.0)


def test_yaml_strings_like_1e_4_are_read_as_numbers():
    assert read({"lr": "1e-4"}).lr == 1e-4


def test_integers_are_accepted_for_float_settings():
    assert read({"lr": 1}).lr == 1.0


@pytest.mark.parametrize("given,fragment", [
    ({"outer_steps": 2.5}, "expected an integer"),
    ({"pool_reset": "never"}, "choose one of: paper, official"),
    ({"real_augment": "dsa"}, "crop_flip, normalize_only"),
    ({"lr": -1.0}, "expected a number >= 0"),
    ({"learning_rate": 0.1}, "unknown key"),
])
def test_bad_settings_name_the_key(given, fragment):
    with pytest.raises(ConfigError, match=fragment) as caught:
        read(given)
    assert f"methods.krr_st.{next(iter(given))}" in str(caught.value)


def test_checkpoint_frequency_is_not_part_of_the_identity():
    a, b = KrrStSettings(), dataclasses.replace(KrrStSettings(), checkpoint_every=7)
    assert a.identity() == b.identity()
    assert a.identity() != dataclasses.replace(a, pool_reset="official").identity()


# --- the settings' own check: what validate runs, and what the method runs again on the loaded source ---

DIGITS = SuiteFacts(budget=20, source="digits", num_classes=10, train_images=1000)
UNKNOWN = SuiteFacts(budget=20, source="mine")


@pytest.mark.parametrize("settings,facts,key,fragment", [
    (KrrStSettings(), dataclasses.replace(DIGITS, has_teacher=False), ("methods", "m"), "needs a teacher"),
    (KrrStSettings(), dataclasses.replace(DIGITS, budget=1001), ("budget",), "exceeds the 1000 training images"),
    (KrrStSettings(pool_size=0), DIGITS, ("methods", "m", "pool_size"), "at least 1"),
    (RandomSubsetSettings(), dataclasses.replace(DIGITS, budget=9), ("budget",), "smaller than the 10 source"),
    (KmeansCoresetSettings(features="teacher"), dataclasses.replace(DIGITS, has_teacher=False),
     ("methods", "m", "features"), "features: teacher needs a teacher"),
    (DsaSettings(), dataclasses.replace(DIGITS, budget=75), ("methods", "m", "outer_loop"), "7 images per class"),
    (MttSettings(expert_epochs=0), DIGITS, ("methods", "m", "expert_epochs"), "at least 1, got 0"),
    (KipSettings(target_batch=5), DIGITS, ("methods", "m", "target_batch"), "one of each of the 10 classes"),
    (ImportSetSettings(path="/no/such/folder"), dataclasses.replace(DIGITS, check_files=True),
     ("methods", "m", "path"), "is not a folder"),
])
def test_check_names_the_setting_that_cannot_run(settings, facts, key, fragment):
    with pytest.raises(SettingError) as caught:
        settings.check(facts, ("methods", "m"))
    assert caught.value.key == key and fragment in caught.value.problem


@pytest.mark.parametrize("settings", [
    KrrStSettings(), RandomSubsetSettings(), DsaSettings(), MttSettings(), KipSettings(target_batch=100),
    DsaSettings(outer_loop=2, inner_loop=3), ImportSetSettings(path="/no/such/folder"),
])
def test_checks_that_need_unknown_counts_or_files_wait_for_run_time(settings):
    settings.check(UNKNOWN, ("methods", "m"))  # classes, images and files unknown: nothing to refuse yet
    if not isinstance(settings, ImportSetSettings):
        settings.check(dataclasses.replace(DIGITS, budget=100), ("methods", "m"))
