"""Splitting a total budget over classes and picking a class-balanced random subset."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import ConfigError, DataError
from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class


def test_budget_splits_evenly_with_the_remainder_to_the_first_classes():
    assert images_per_class(100, 10) == [10] * 10
    assert images_per_class(23, 10) == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert sum(images_per_class(1000, 43)) == 1000


def test_budget_below_the_number_of_classes_is_a_config_error():
    with pytest.raises(ConfigError, match="budget 5 .* 10 source classes"):
        images_per_class(5, 10)


def test_indices_are_distinct_balanced_and_reproducible():
    labels = torch.arange(4).repeat_interleave(6)[torch.randperm(24, generator=torch.Generator().manual_seed(1))]
    per_class = [3, 2, 2, 1]
    picked = class_balanced_indices(labels, per_class, torch.Generator().manual_seed(0))
    assert picked.dtype == torch.int64 and picked.numel() == 8 and picked.unique().numel() == 8
    assert labels[picked].tolist() == [0, 0, 0, 1, 1, 2, 2, 3], "class by class"
    again = class_balanced_indices(labels, per_class, torch.Generator().manual_seed(0))
    other = class_balanced_indices(labels, per_class, torch.Generator().manual_seed(5))
    assert torch.equal(picked, again) and not torch.equal(picked, other)


def test_a_class_with_too_few_images_is_a_data_error():
    labels = torch.tensor([0, 0, 0, 1])
    with pytest.raises(DataError, match="class 1 has 1"):
        class_balanced_indices(labels, [1, 2], torch.Generator().manual_seed(0))
