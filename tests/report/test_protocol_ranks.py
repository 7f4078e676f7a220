"""Ranks within protocol blocks and Kendall's tau-b between protocols, on values worked out by hand."""

from __future__ import annotations

import math

import pytest

from kdss_bench.report.protocol_ranks import agreements, block_ranks, kendall_tau_b, places


def test_places_share_ties():
    assert places({"a": 90.0, "b": 80.0, "c": 80.0, "d": 10.0}) == {"a": 1, "b": 2.5, "c": 2.5, "d": 4}


@pytest.mark.parametrize("first, second, tau", [
    ([1, 2, 3, 4], [1, 2, 3, 4], 1.0),
    ([1, 2, 3, 4], [4, 3, 2, 1], -1.0),
    ([1, 2, 3], [1, 3, 2], 1 / 3),
    ([1, 2, 2], [1, 2, 3], 2 / math.sqrt(6)),  # tau-b: (C - D) / sqrt((C + D + T_x)(C + D + T_y)) = 2 / sqrt(2 * 3)
])
def test_kendall_tau_b(first, second, tau):
    assert kendall_tau_b(first, second) == pytest.approx(tau)


def test_tau_has_no_value_without_an_order():
    assert math.isnan(kendall_tau_b([1, 1], [1, 2]))
    assert math.isnan(kendall_tau_b([1], [1]))


def test_blocks_rank_their_own_rows_and_only_protocol_pairs_are_compared():
    krr = (("protocol", "krr_st"), ("label_fraction", 0.05))
    mkdt = (("protocol", "mkdt"), ("label_fraction", 0.05))
    other = (("protocol", "mkdt"), ("label_fraction", 0.5))
    means = {(krr, "krr_st"): {"t1": 50.0, "t2": 60.0}, (krr, "random"): {"t1": 40.0, "t2": 70.0},
             (krr, "none"): {"t1": 30.0, "t2": 20.0},
             (mkdt, "krr_st"): {"t1": 10.0, "t2": 10.0}, (mkdt, "random"): {"t1": 20.0, "t2": 30.0},
             (mkdt, "none"): {"t1": 5.0, "t2": 1.0}, (other, "krr_st"): {"t1": 1.0}}
    ranks = block_ranks(means)
    assert ranks[(krr, "krr_st")] == 1.5 and ranks[(krr, "random")] == 1.5 and ranks[(krr, "none")] == 3
    assert ranks[(mkdt, "random")] == 1 and ranks[(mkdt, "krr_st")] == 2 and ranks[(other, "krr_st")] == 1
    (agreement,) = agreements(ranks)
    assert (agreement.first, agreement.second, agreement.methods) == (krr, mkdt, 3)
    assert agreement.tau == pytest.approx(kendall_tau_b([1.5, 1.5, 3], [2, 1, 3]))
