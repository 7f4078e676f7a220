"""The ``random`` baseline: a class-balanced random real subset with hard labels, on scikit-learn's digits."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import random_subset
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.random_subset_settings import RandomSubsetSettings
from kdss_bench.train.augment import normalize, to_float


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(digits, budget=23, seed=0):
    return DistillContext(source=digits, teacher=None, budget=budget, settings=RandomSubsetSettings(),
                          model="convnet_8_16_bn", seed=seed, device=torch.device("cpu"))


def test_subset_is_balanced_real_normalised_images_with_their_labels(digits):
    result = random_subset.distill(make_ctx(digits))
    assert result.target_kind == "hard" and result.size == 23
    assert result.images.shape == (23, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.dtype == torch.int64 and torch.isfinite(result.images).all()
    assert torch.bincount(result.targets, minlength=10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    indices = torch.tensor(result.manifest["source_indices"])
    assert indices.unique().numel() == 23
    expected = normalize(to_float(digits.x_train[indices]), digits.mean, digits.std)
    torch.testing.assert_close(result.images, expected, rtol=0, atol=0)
    assert torch.equal(result.targets, digits.y_train[indices])


def test_manifest_names_the_run(digits):
    manifest = random_subset.distill(make_ctx(digits, seed=3)).manifest
    assert (manifest["method"], manifest["source"], manifest["budget"], manifest["seed"]) == ("random", "digits", 23, 3)
    assert manifest["input_space"] == "normalized" and manifest["settings"] == {}
    assert manifest["normalization"]["mean"] == list(digits.mean)
    assert set(manifest["cost"]) == {"wall_time_s", "steps"}


def test_the_seed_decides_the_subset(digits):
    first = random_subset.distill(make_ctx(digits, seed=0))
    again = random_subset.distill(make_ctx(digits, seed=0))
    other = random_subset.distill(make_ctx(digits, seed=1))
    assert torch.equal(first.images, again.images)
    assert first.manifest["source_indices"] != other.manifest["source_indices"]


def test_a_budget_below_one_image_per_class_is_refused(digits):
    with pytest.raises(ConfigError, match="budget 5"):
        random_subset.distill(make_ctx(digits, budget=5))
