"""Method settings: typed validation from YAML, and which fields make a result different."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kdss_bench.config_reader import ConfigReader
from kdss_bench.errors import ConfigError
from kdss_bench.methods.settings import KrrStSettings, read_settings


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
