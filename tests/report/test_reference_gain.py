"""kdss_bench.report.reference_gain: each method's gain over the no-pre-training row, with a test over seeds."""

from __future__ import annotations

import pytest
from scipy import stats

from kdss_bench.report.reference_gain import (
    NO_TEST,
    PAIRED,
    WELCH,
    Gain,
    gain_text,
    gains_footer,
    gains_markdown,
    gains_over,
    seed_test,
)
from kdss_bench.report.results_table import ResultsTable, TableRow


def rows(cells, **extra):
    return [{"suite": "s", "cell": f"{m}__{t}__seed{seed}", "method": m, "target": t, "seed": seed, "accuracy": acc,
             **extra} for m, t, seed, acc in cells]


def table(cells) -> ResultsTable:
    return ResultsTable(rows(cells))


def test_paired_by_seed_when_both_rows_ran_the_same_seeds():
    t = table([("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 53.0), ("krr_st", "a", 2, 51.5),
               ("no_pretrain", "a", 2, 49.0), ("no_pretrain", "a", 0, 48.0), ("no_pretrain", "a", 1, 51.5)])
    (gain,) = gains_over(t)
    assert gain.row.method == "krr_st" and gain.target == "a" and gain.test == PAIRED and gain.n == 3
    assert gain.diff == pytest.approx(2.0)
    assert gain.p == pytest.approx(stats.ttest_rel([50.0, 53.0, 51.5], [48.0, 51.5, 49.0]).pvalue)


def test_welch_when_the_seeds_differ_and_no_test_below_two_seeds():
    t = table([("dm", "a", 0, 70.0), ("dm", "a", 1, 71.0), ("no_pretrain", "a", 5, 69.0), ("no_pretrain", "a", 6, 69.5),
               ("dm", "b", 0, 30.0), ("no_pretrain", "b", 0, 20.0), ("no_pretrain", "b", 1, 21.0)])
    a, b = gains_over(t)
    assert a.test == WELCH and a.n == 2
    assert a.p == pytest.approx(stats.ttest_ind([70.0, 71.0], [69.0, 69.5], equal_var=False).pvalue)
    assert (b.test, b.p, b.n) == (NO_TEST, None, 1) and b.diff == pytest.approx(9.5)


def test_without_spread_a_difference_is_certain_and_none_is_none():
    same_gap = table([("krr_st", "a", 0, 52.0), ("krr_st", "a", 1, 53.0), ("no_pretrain", "a", 0, 50.0),
                      ("no_pretrain", "a", 1, 51.0)])
    assert (gains_over(same_gap)[0].p, gains_over(same_gap)[0].test) == (0.0, PAIRED)
    equal = table([("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 51.0), ("no_pretrain", "a", 0, 50.0),
                   ("no_pretrain", "a", 1, 51.0)])
    assert gains_over(equal)[0].p == 1.0
    flat = table([("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 50.0), ("no_pretrain", "a", 7, 50.0),
                  ("no_pretrain", "a", 8, 50.0)])
    assert (gains_over(flat)[0].p, gains_over(flat)[0].test) == (1.0, WELCH)


def test_no_reference_row_no_gains_and_missing_cells_are_left_out():
    assert gains_over(table([("krr_st", "a", 0, 50.0), ("dm", "a", 0, 40.0)])) == []
    assert gains_markdown(table([("krr_st", "a", 0, 50.0)])) == ""
    t = table([("krr_st", "a", 0, 50.0), ("no_pretrain", "b", 0, 40.0), ("krr_st", "b", 0, 45.0)])
    assert [(g.target, g.diff) for g in gains_over(t)] == [("b", 5.0)]
    assert gains_over(table([("krr_st", "a", 0, 50.0), ("dm", "a", 0, 40.0)]), reference="dm")[0].diff == 10.0


def test_one_reference_row_serves_every_budget():
    cells = [("krr_st", "a", seed, acc) for seed, acc in ((0, 50.0), (1, 52.0))]
    data = rows(cells, budget=100) + rows([("krr_st", "a", s, a + 5) for s, a in ((0, 50.0), (1, 52.0))],
                                          budget=500)
    for item in data[2:]:
        item["cell"] = item["cell"].replace("krr_st", "krr_st__b500")
    data += rows([("no_pretrain", "a", 0, 45.0), ("no_pretrain", "a", 1, 46.0)], budget=None)
    gains = gains_over(ResultsTable(data))
    assert sorted(round(g.diff, 6) for g in gains) == [5.5, 10.5]


def test_gain_text_and_footer():
    row = TableRow("krr_st")
    assert gain_text(None) == "—"
    assert gain_text(Gain(row, "a", 2.876, 0.0312, PAIRED, 3)) == "+2.88 (p 0.031)"
    assert gain_text(Gain(row, "a", -0.4, 0.7123, WELCH, 3)) == "-0.40 (p 0.71)"
    assert gain_text(Gain(row, "a", 1.1, None, NO_TEST, 1)) == "+1.10"
    assert gain_text(Gain(row, "a", 9.0, 1e-5, PAIRED, 5)) == "+9.00 (p < 0.001)"
    footer = gains_footer([Gain(row, "a", 1.0, 0.5, PAIRED, 2), Gain(row, "b", 1.0, None, NO_TEST, 1)], "no_pretrain")
    assert footer.startswith("gain over no_pretrain: difference of mean top-1 accuracy in points; p: two-sided ")
    assert "no test (n < 2), paired t-test over 2 seeds" in footer and "a rough guide only" in footer
    assert "a rough guide" not in gains_footer([Gain(row, "a", 1.0, 0.5, PAIRED, 3)], "no_pretrain")


def test_the_markdown_table_has_a_row_per_method_and_a_column_per_target():
    t = table([("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 53.0), ("no_pretrain", "a", 0, 48.0),
               ("no_pretrain", "a", 1, 51.5), ("dm", "a", 0, 40.0), ("krr_st", "b", 0, 60.0),
               ("no_pretrain", "b", 0, 55.0)])
    lines = gains_markdown(t).splitlines()
    assert lines[:4] == ["Gain over no_pretrain", "", "| Method | a | b |", "| :--- | ---: | ---: |"]
    body = {line.split(" | ")[0].strip("| "): line for line in lines[4:] if line.startswith("| ")}
    assert set(body) == {"krr_st", "dm"} and "no_pretrain" not in body
    assert body["krr_st"].startswith("| krr_st | +1.75 (p ") and body["krr_st"].endswith(" | +5.00 |")
    assert body["dm"] == "| dm | -9.75 | — |"


def test_seed_test_directly():
    t = table([("krr_st", "a", 0, 1.0), ("krr_st", "a", 1, 3.0), ("no_pretrain", "a", 0, 0.0),
               ("no_pretrain", "a", 1, 1.0)])
    p, test, n = seed_test(t.cell("krr_st", "a"), t.cell("no_pretrain", "a"))
    assert (test, n) == (PAIRED, 2) and p == pytest.approx(stats.ttest_rel([1.0, 3.0], [0.0, 1.0]).pvalue)
