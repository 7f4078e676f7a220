"""Seeded class-stratified splits: exact sizes, per-class proportions, determinism, disjointness."""

from __future__ import annotations

import numpy as np
import pytest

from kdss_bench.data.stratified_split import stratified_split


def test_split_is_disjoint_complete_proportional_and_deterministic() -> None:
    labels = np.repeat(np.arange(3), [50, 30, 20])
    train, test = stratified_split(labels, 60, seed=0)
    assert len(train) == 60 and len(test) == 40
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    assert np.bincount(labels[train]).tolist() == [30, 18, 12]
    again_train, again_test = stratified_split(labels, 60, seed=0)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    other_train, _ = stratified_split(labels, 60, seed=1)
    assert not np.array_equal(train, other_train)


def test_largest_remainder_hits_the_exact_total() -> None:
    labels = np.repeat(np.arange(10), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    train, test = stratified_split(labels, 1000, seed=0)
    assert len(train) == 1000 and len(test) == 797
    per_class = np.bincount(labels[train])
    assert per_class.min() >= 96 and per_class.max() <= 102


def test_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError):
        stratified_split(np.zeros(5, int), 5, seed=0)
