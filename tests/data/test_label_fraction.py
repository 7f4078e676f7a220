"""Label fractions: seeded, stratified (or uniform), nested across fractions, test split untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdss_bench.data.image_set import build_image_set
from kdss_bench.data.label_fraction import label_fraction_indices, take_label_fraction

LABELS = np.repeat(np.arange(4), [200, 100, 20, 1])


def test_stratified_keeps_the_fraction_of_every_class_and_at_least_one():
    kept = label_fraction_indices(LABELS, 0.1, seed=0)
    assert np.bincount(LABELS[kept], minlength=4).tolist() == [20, 10, 2, 1]
    assert np.all(np.diff(kept) > 0), "sorted, no repeats"


def test_random_sampling_is_uniform_over_the_split_and_may_miss_a_class():
    kept = label_fraction_indices(LABELS, 0.1, seed=0, sampling="random")
    assert len(kept) == round(0.1 * len(LABELS))
    missing = sum(0 not in np.bincount(LABELS[label_fraction_indices(LABELS, 0.01, seed=s, sampling="random")],
                                       minlength=4)[3:] for s in range(20))
    assert missing < 20, "the one-image class is mostly absent from a 1% uniform sample"


def test_seeds_differ_and_a_smaller_fraction_is_inside_a_larger_one():
    assert not np.array_equal(label_fraction_indices(LABELS, 0.1, 0), label_fraction_indices(LABELS, 0.1, 1))
    assert np.array_equal(label_fraction_indices(LABELS, 0.1, 3), label_fraction_indices(LABELS, 0.1, 3))
    small, large = set(label_fraction_indices(LABELS, 0.05, 2)), set(label_fraction_indices(LABELS, 0.5, 2))
    assert small <= large


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5, float("nan")])
def test_fractions_outside_the_unit_interval_are_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        label_fraction_indices(LABELS, fraction, 0)


def test_the_subset_keeps_the_test_split_and_the_normalisation_of_the_full_set():
    images = torch.randint(0, 256, (len(LABELS), 3, 8, 8), dtype=torch.uint8)
    full = build_image_set("toy", images, LABELS, images[:30], LABELS[:30], ["a", "b", "c", "d"], 8)
    part = take_label_fraction(full, 0.25, seed=0)
    assert part.x_train.shape[0] == int(np.bincount(LABELS[label_fraction_indices(LABELS, 0.25, 0)]).sum())
    assert torch.equal(part.x_test, full.x_test) and part.mean == full.mean and part.std == full.std
    assert take_label_fraction(full, 1.0, seed=0) is full
