from __future__ import annotations

import math

import pytest

from kdss_bench.report.statistics import mean_std


def test_population_std_not_sample_std():
    mean, std, n = mean_std([1.0, 2.0, 3.0, 4.0])
    assert (mean, n) == (2.5, 4)
    assert std == pytest.approx(math.sqrt(1.25))  # ddof=0; ddof=1 would give 1.29


def test_single_value_has_zero_std():
    assert mean_std([61.25]) == (61.25, 0.0, 1)


def test_accepts_any_iterable_of_numbers():
    assert mean_std(value for value in (60, 62)) == (61.0, 1.0, 2)


def test_no_values_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        mean_std([])


def test_nan_propagates():
    mean, std, n = mean_std([1.0, math.nan])
    assert math.isnan(mean) and math.isnan(std) and n == 2
