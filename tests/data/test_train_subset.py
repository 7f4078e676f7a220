"""Low-shot variants: K seeded train images per class, the test split untouched, train statistics recomputed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.registry import clear_dataset_cache, describe_dataset, load_dataset, resolve_dataset
from kdss_bench.data.stratified_split import per_class_indices
from kdss_bench.data.train_subset import take_train_per_class
from kdss_bench.errors import ConfigError

# Train class sizes: class 2 (3 images) is smaller than the K = 5 used below.
SIZES = (12, 9, 3)


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _full(name: str = "full") -> ImageSet:
    rng = np.random.default_rng(0)
    y_train = np.repeat(np.arange(len(SIZES)), SIZES)
    x_train = rng.integers(0, 256, size=(len(y_train), 4, 4, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(6, 4, 4, 3), dtype=np.uint8)
    return build_image_set(name, x_train, y_train, x_test, np.arange(6) % 3, ["a", "b", "c"], 4)


def _counts(images: ImageSet) -> list[int]:
    return torch.bincount(images.y_train, minlength=images.num_classes).tolist()


def test_keeps_k_per_class_and_all_of_a_smaller_class() -> None:
    subset = take_train_per_class(_full(), 5, seed=0)
    assert _counts(subset) == [5, 5, 3]
    assert _counts(take_train_per_class(_full(), 1, seed=0)) == [1, 1, 1]
    assert _counts(take_train_per_class(_full(), 100, seed=0)) == list(SIZES)


def test_kept_images_are_rows_of_the_full_train_split() -> None:
    full = _full()
    subset = take_train_per_class(full, 5, seed=3)
    keep = torch.from_numpy(per_class_indices(full.y_train.numpy(), 5, 3))
    assert torch.equal(subset.x_train, full.x_train[keep]) and torch.equal(subset.y_train, full.y_train[keep])


def test_same_seed_same_subset_and_other_seeds_differ() -> None:
    first, again = take_train_per_class(_full(), 5, seed=0), take_train_per_class(_full(), 5, seed=0)
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_train, again.y_train)
    assert first.fingerprint() == again.fingerprint()
    other = take_train_per_class(_full(), 5, seed=1)
    assert not torch.equal(first.x_train, other.x_train)
    labels = _full().y_train.numpy()
    assert not np.array_equal(per_class_indices(labels, 5, 0), per_class_indices(labels, 5, 1))


def test_smaller_subset_is_contained_in_a_larger_one_for_one_seed() -> None:
    labels = _full().y_train.numpy()
    assert set(per_class_indices(labels, 2, 7)) <= set(per_class_indices(labels, 5, 7))


def test_test_split_and_classes_are_unchanged() -> None:
    full = _full()
    subset = take_train_per_class(full, 2, seed=0)
    assert torch.equal(subset.x_test, full.x_test) and torch.equal(subset.y_test, full.y_test)
    assert subset.classes == full.classes and subset.resolution == full.resolution


def test_statistics_come_from_the_kept_train_images() -> None:
    full = _full()
    subset = take_train_per_class(full, 2, seed=0)
    pixels = subset.x_train.to(torch.float64) / 255.0
    expected_mean = pixels.mean(dim=(0, 2, 3))
    expected_std = pixels.std(dim=(0, 2, 3), unbiased=False)
    assert subset.mean == pytest.approx(tuple(expected_mean.tolist()), abs=1e-9)
    assert subset.std == pytest.approx(tuple(expected_std.tolist()), abs=1e-9)
    assert subset.mean != full.mean


def test_fingerprint_differs_from_the_full_set() -> None:
    full = _full()
    assert take_train_per_class(full, 5, seed=0).fingerprint() != full.fingerprint()
    named = take_train_per_class(full, 5, seed=0, name="full_5shot")
    assert named.name == "full_5shot" and named.fingerprint() != full.fingerprint()


def test_per_class_indices_rejects_a_non_positive_count() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        per_class_indices(np.array([0, 1]), 0, 0)


def _npz(path: Path) -> Path:
    full = _full()
    np.savez(path, x_train=full.x_train.numpy(), y_train=full.y_train.numpy(), x_test=full.x_test.numpy(),
             y_test=full.y_test.numpy(), classes=np.array(full.classes))
    return path


def test_declared_npz_subset_loads_through_the_registry(tmp_path: Path) -> None:
    _npz(tmp_path / "three.npz")
    declared = {
        "three": {"format": "npz", "path": "three.npz"},
        "three_5shot": {"format": "npz", "path": "three.npz", "train_per_class": 5},
        "three_5shot_s1": {"format": "npz", "path": "three.npz", "train_per_class": 5, "subset_seed": 1},
    }
    full = load_dataset("three", resolution=4, data_root=tmp_path, declared=declared)
    subset = load_dataset("three_5shot", resolution=4, data_root=tmp_path, declared=declared)
    assert subset.name == "three_5shot" and _counts(subset) == [5, 5, 3]
    assert torch.equal(subset.x_test, full.x_test) and subset.mean != full.mean
    assert subset.fingerprint() != full.fingerprint()
    assert load_dataset("three_5shot", resolution=4, data_root=tmp_path, declared=declared) is subset
    reseeded = load_dataset("three_5shot_s1", resolution=4, data_root=tmp_path, declared=declared)
    assert not torch.equal(reseeded.x_train, subset.x_train)
    assert "5 train images per class (subset_seed 1)" in describe_dataset("three_5shot_s1", declared)


def test_declared_bundled_digits_subset() -> None:
    declared = {"digits_10shot": {"format": "bundled", "name": "digits", "train_per_class": 10}}
    source = resolve_dataset("digits_10shot", data_root=None, declared=declared)
    assert source.variant == "digits" and source.train_per_class == 10 and source.subset_seed == 0
    subset = load_dataset("digits_10shot", resolution=8, declared=declared)
    full = load_dataset("digits", resolution=8)
    assert subset.name == "digits_10shot" and _counts(subset) == [10] * 10
    assert torch.equal(subset.x_test, full.x_test) and len(subset.y_test) == 797
    assert subset.fingerprint() != full.fingerprint()


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"train_per_class": 0}, "train_per_class must be a positive integer, got 0"),
        ({"train_per_class": -2}, "positive integer, got -2"),
        ({"train_per_class": "ten"}, "positive integer, got 'ten'"),
        ({"train_per_class": 2.5}, "positive integer, got 2.5"),
        ({"train_per_class": True}, "positive integer, got True"),
        ({"train_per_class": 5, "subset_seed": -1}, "subset_seed must be an integer >= 0"),
        ({"subset_seed": 1}, "add train_per_class"),
        ({"shots": 10}, "unknown key 'shots'"),
        ({"path": "x.npz"}, "valid keys: description, format, name, subset_seed, train_per_class"),
    ],
)
def test_bad_subset_declarations_are_config_errors(entry: dict, fragment: str) -> None:
    declared = {"bad": {"format": "bundled", "name": "digits", **entry}}
    with pytest.raises(ConfigError) as info:
        resolve_dataset("bad", data_root=None, declared=declared)
    assert "'bad'" in str(info.value) and fragment in str(info.value)
