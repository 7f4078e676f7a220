"""Timing helpers: warm-up calls are not counted, round-robin takes every call in turn."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.bench.timing import summary, time_calls, time_round_robin


def test_time_calls_skips_warmup_and_counts_repeats():
    calls = []
    times = time_calls(lambda: calls.append(1), repeats=3, warmup=2, device=torch.device("cpu"))
    assert len(calls) == 5 and len(times) == 3 and all(t >= 0 for t in times)
    assert summary([3.0, 1.0, 2.0]) == {"median_s": 2.0, "min_s": 1.0, "max_s": 3.0}


def test_round_robin_interleaves_the_calls():
    order = []
    times = time_round_robin({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=2,
                             warmup_rounds=1)
    assert order == ["a", "b"] * 3
    assert {name: len(values) for name, values in times.items()} == {"a": 2, "b": 2}


def test_nonpositive_counts_are_refused():
    with pytest.raises(ValueError, match="repeats"):
        time_calls(lambda: None, repeats=0, warmup=0, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="rounds"):
        time_round_robin({}, rounds=0)
