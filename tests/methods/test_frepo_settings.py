"""kdss_bench.methods.frepo_settings: FRePo's official CIFAR-100 defaults and what its check refuses."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.frepo_settings import FrepoSettings
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

CIFAR100 = SuiteFacts(budget=1000, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_are_the_official_cifar100_ten_per_class_configuration():
    s = FrepoSettings()
    assert (s.outer_steps, s.optimizer, s.lr, s.lr_final_fraction) == (500_000, "lamb", 3e-4, 0.1)
    assert (s.real_batch, s.ridge, s.label_margin_weight) == (1024, 1e-6, 1.0)
    assert (s.flip_prototypes, s.scale_init_labels) == (False, True)
    assert (s.pool_size, s.max_online_updates, s.online_lr, s.online_batch) == (10, 100, 3e-4, 1000)
    assert (s.online_bn_momentum, s.checkpoint_every) == (0.9, 2000)


@pytest.mark.parametrize("name", ["outer_steps", "real_batch", "pool_size", "max_online_updates", "online_batch"])
def test_every_count_must_be_positive(name):
    with pytest.raises(SettingError) as caught:
        dataclasses.replace(FrepoSettings(), **{name: 0}).check(CIFAR100, ("methods", "frepo"))
    assert caught.value.key == ("methods", "frepo", name)


def test_the_budget_is_class_balanced():
    FrepoSettings().check(CIFAR100, ("methods", "frepo"))
    with pytest.raises(SettingError, match="smaller than the 100 source classes"):
        FrepoSettings().check(dataclasses.replace(CIFAR100, budget=50), ("methods", "frepo"))


def test_the_optimiser_is_lamb_or_adam():
    assert read(FrepoSettings, {"optimizer": "adam"}).optimizer == "adam"
    with pytest.raises(ConfigError, match="choose one of: lamb, adam"):
        read(FrepoSettings, {"optimizer": "sgd"})
