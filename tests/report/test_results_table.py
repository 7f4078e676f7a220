from __future__ import annotations

import csv
import io
import json
import math

import pytest
from rich.console import Console

from kdss_bench.errors import KdssError
from kdss_bench.report.results_table import ResultsTable, tables_by_suite


def _row(method, target, seed, accuracy, **extra):
    row = {
        "suite": "cifar10-transfer",
        "cell": f"{method}__{target}__seed{seed}",
        "method": method,
        "target": target,
        "seed": seed,
        "accuracy": accuracy,
        "source": "cifar10_src",
        "budget": 500,
        "model": "convnet_64_128_256_bn",
        "eval": "finetune",
        "recipe": "native",
        "resolution": 32,
    }
    row.update(extra)
    if "cell_suffix" in extra:
        row["cell"] += row.pop("cell_suffix")
    return row


ROWS = [
    _row("no_pretrain", "gtsrb43", 0, 40.0),
    _row("no_pretrain", "gtsrb43", 1, 42.0),
    _row("krr_st", "gtsrb43", 0, 60.0),
    _row("krr_st", "gtsrb43", 1, 62.0),
    _row("krr_st", "dtd10", 0, 30.0),
    _row("krr_st", "dtd10", 1, 32.0),
    _row("random", "gtsrb43", 0, 50.0),
    _row("random", "gtsrb43", 1, 50.0),
    _row("random", "dtd10", 0, 35.0),
    _row("random", "dtd10", 1, 37.0),
]


def test_layout_order_and_statistics():
    table = ResultsTable(ROWS)
    assert [row.label for row in table.rows] == ["krr_st", "random", "no_pretrain"]  # no_pretrain last
    assert table.targets == ["gtsrb43", "dtd10"]  # first appearance
    cell = table.cell("krr_st", "gtsrb43")
    assert (cell.mean, cell.std, cell.n) == (61.0, 1.0, 2)  # population std
    assert table.cell("no_pretrain", "dtd10") is None


def test_given_orders_win_and_unlisted_names_follow():
    table = ResultsTable(ROWS, method_order=["random", "no_pretrain"], target_order=["dtd10"])
    assert [row.method for row in table.rows] == ["random", "no_pretrain", "krr_st"]
    assert table.targets == ["dtd10", "gtsrb43"]


def test_best_mean_per_column_is_marked():
    table = ResultsTable(ROWS)
    assert table.cell("krr_st", "gtsrb43").best
    assert not table.cell("random", "gtsrb43").best
    assert table.cell("random", "dtd10").best and not table.cell("krr_st", "dtd10").best


def test_ties_at_shown_precision_are_all_best():
    rows = [_row("a", "t", 0, 50.001), _row("b", "t", 0, 49.999)]
    table = ResultsTable(rows)
    assert table.cell("a", "t").best and table.cell("b", "t").best


def test_footer_describes_the_numbers():
    footer = ResultsTable(ROWS).footer
    assert footer.startswith("top-1 test accuracy (%), mean ± population std over 2 seeds")
    for part in ("eval: finetune", "recipe: native", "source: cifar10_src", "budget: 500"):
        assert part in footer
    assert "model: convnet_64_128_256_bn" in footer


def test_mixed_settings_split_rows_instead_of_averaging():
    rows = [*ROWS, _row("krr_st", "gtsrb43", 0, 70.0, budget=1000, cell_suffix="_b1000")]
    table = ResultsTable(rows)
    assert "budget: mixed" in table.footer
    labels = [row.label for row in table.rows]
    assert labels[:2] == ["krr_st (budget 500)", "krr_st (budget 1000)"]
    assert labels[-1] == "no_pretrain (budget 500)"
    row_1000 = table.rows[1]
    assert table.cell(row_1000, "gtsrb43").mean == 70.0
    assert table.cell(table.rows[0], "gtsrb43").mean == 61.0  # not pulled towards 70
    records = json.loads(table.to_json())
    assert {r["budget"] for r in records if r["method"] == "krr_st"} == {500, 1000}


def test_uneven_seed_counts_show_n_in_cells():
    table = ResultsTable([*ROWS, _row("krr_st", "gtsrb43", 2, 61.0)])
    assert "over 2–3 seeds" in table.footer
    assert table.cell_text(table.cell("krr_st", "gtsrb43")) == "61.00 ± 0.82 (n=3)"


def test_duplicate_rows_count_once_and_unfinished_rows_are_ignored():
    rows = [*ROWS, dict(ROWS[2]), _row("krr_st", "gtsrb43", 5, None)]
    assert ResultsTable(rows).cell("krr_st", "gtsrb43").n == 2


def test_row_without_method_is_reported():
    with pytest.raises(KdssError, match="'method'"):
        ResultsTable([{"suite": "s", "cell": "c", "target": "t", "accuracy": 1.0}])


def test_markdown_header_missing_cells_and_bold():
    text = ResultsTable(ROWS).to_markdown()
    lines = text.splitlines()
    assert lines[0] == "| Method | gtsrb43 | dtd10 |"
    assert lines[1].startswith("| :--- |") and lines[1].count("---:") == 2
    assert lines[2] == "| krr_st | **61.00 ± 1.00** | 31.00 ± 1.00 |"
    assert lines[4] == "| no_pretrain | 41.00 ± 1.00 | — |"
    assert lines[-1].startswith("top-1 test accuracy")


def test_csv_parses_back():
    records = list(csv.DictReader(io.StringIO(ResultsTable(ROWS).to_csv())))
    assert list(records[0])[:5] == ["method", "target", "mean", "std", "n"]
    assert len(records) == 5  # missing cell omitted
    first = records[0]
    assert (first["method"], first["target"]) == ("krr_st", "gtsrb43")
    assert (float(first["mean"]), float(first["std"]), int(first["n"])) == (61.0, 1.0, 2)
    assert first["seeds"] == "0 1" and first["budget"] == "500" and first["best"] == "True"


def test_json_parses_back_with_settings():
    records = json.loads(ResultsTable(ROWS).to_json())
    assert len(records) == 5
    record = records[0]
    for key in ("method", "target", "mean", "std", "n", "suite", "source", "budget", "model", "eval"):
        assert key in record
    assert record["suite"] == "cifar10-transfer" and record["seeds"] == [0, 1]


def test_json_writes_nan_as_null():
    records = json.loads(ResultsTable([_row("a", "t", 0, math.nan)]).to_json())
    assert records[0]["mean"] is None and records[0]["best"] is False


def test_latex_escapes_and_marks_best():
    text = ResultsTable(ROWS).to_latex()
    assert text.startswith("% top-1 test accuracy")
    assert "\\begin{tabular}{lrr}" in text and "\\end{tabular}" in text
    assert "Method & gtsrb43 & dtd10 \\\\" in text
    assert "krr\\_st & \\textbf{61.00 $\\pm$ 1.00} & 31.00 $\\pm$ 1.00 \\\\" in text
    assert "no\\_pretrain & 41.00 $\\pm$ 1.00 & -- \\\\" in text


def test_rich_table_renders():
    table = ResultsTable(ROWS).to_rich()
    console = Console(record=True, width=160, color_system=None)
    console.print(table)
    text = console.export_text()
    assert "cifar10-transfer" in text and "61.00 ± 1.00" in text and "—" in text
    assert text.index("krr_st") < text.index("no_pretrain")


def test_tables_by_suite_splits_in_order():
    other = [_row("krr_st", "gtsrb43", 0, 10.0, suite="b-suite")]
    tables = tables_by_suite(other + ROWS)
    assert list(tables) == ["b-suite", "cifar10-transfer"]
    assert tables["b-suite"].cell("krr_st", "gtsrb43").mean == 10.0
    assert tables["cifar10-transfer"].cell("krr_st", "gtsrb43").mean == 61.0
    assert tables["b-suite"].title == "b-suite"


def test_rows_from_several_suites_in_one_table_stay_apart():
    table = ResultsTable([*ROWS, _row("krr_st", "gtsrb43", 0, 10.0, suite="b-suite")])
    assert "suite: mixed" in table.footer
    assert table.cell("krr_st", "gtsrb43") is None  # ambiguous: two krr_st rows
    labels = [row.label for row in table.rows]
    assert labels[:2] == ["krr_st (suite b-suite)", "krr_st (suite cifar10-transfer)"]


def test_empty_table_renders():
    table = ResultsTable([])
    assert table.to_markdown().splitlines()[0] == "| Method |"
    assert json.loads(table.to_json()) == []
    assert table.footer == "no finished results"


def _rows(cells):
    return [{"suite": "s", "cell": f"{m}__{t}__seed{seed}", "method": m, "target": t, "seed": seed,
             "accuracy": acc} for m, t, seed, acc in cells]


def test_a_partly_finished_suite_is_marked_incomplete_and_a_lone_value_is_not_best():
    from kdss_bench.report.results_table import ResultsTable

    planned = [{"suite": "s", "cell": f"{m}__{t}__seed{seed}", "method": m, "target": t, "seed": seed}
               for m in ("krr_st", "no_pretrain") for t in ("a", "b") for seed in (0, 1)]
    table = ResultsTable(_rows([("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 52.0), ("no_pretrain", "a", 0, 40.0),
                                ("krr_st", "b", 0, 70.0)]), planned=planned,
                         problems={"no_pretrain__a__seed1": "result.json: not valid JSON"})
    assert not table.complete and table.missing[:2] == ["krr_st__b__seed1", "no_pretrain__a__seed1"]
    assert table.completeness.startswith("incomplete: 4 of 8 cells finished; missing: krr_st__b__seed1, "
                                         "no_pretrain__a__seed1 (result.json: not valid JSON)")
    assert table.footer.startswith("incomplete: 4 of 8")
    assert table.cell_text(table.cell("no_pretrain", "a")) == "40.00 (n=1 of 2)"
    assert table.cell_text(table.cell("krr_st", "a")) == "51.00 ± 1.00"
    assert table.cell("krr_st", "a").best and not table.cell("krr_st", "b").best, "a column with one value: no best"
    assert table.targets == ["a", "b"] and [row.method for row in table.rows] == ["krr_st", "no_pretrain"]
    assert table.cell_text(table.cell("no_pretrain", "b")) == "—"


def test_gain_over_the_reference_is_paired_by_seed_when_the_seeds_match():
    from kdss_bench.report.reference_gain import PAIRED, WELCH, gains_markdown, gains_over
    from kdss_bench.report.results_table import ResultsTable

    cells = [("krr_st", "a", 0, 50.0), ("krr_st", "a", 1, 53.0), ("krr_st", "a", 2, 51.5),
             ("no_pretrain", "a", 0, 48.0), ("no_pretrain", "a", 1, 51.5), ("no_pretrain", "a", 2, 49.0),
             ("krr_st", "b", 0, 70.0), ("krr_st", "b", 1, 71.0), ("no_pretrain", "b", 5, 69.0),
             ("no_pretrain", "b", 6, 69.5)]
    (a, b) = gains_over(ResultsTable(_rows(cells)))
    from scipy import stats

    assert a.test == PAIRED and a.diff == pytest.approx(2.0)
    assert a.p == pytest.approx(stats.ttest_rel([50.0, 53.0, 51.5], [48.0, 51.5, 49.0]).pvalue)
    assert b.test == WELCH and b.p == pytest.approx(stats.ttest_ind([70.0, 71.0], [69.0, 69.5],
                                                                    equal_var=False).pvalue)
    text = gains_markdown(ResultsTable(_rows(cells)))
    assert "| krr_st | +2.00 (p " in text and "paired t-test over 3 seeds" in text and "Welch t-test over 2" in text
    assert gains_over(ResultsTable(_rows(cells)), "dm") == []


def _axes_rows():
    rows = []
    for method in ("krr_st", "random"):
        for budget in (100, 500):
            for model in ("vgg11", "alexnet"):
                for seed in (0, 1):
                    rows.append({"suite": "s", "cell": f"{method}__b{budget}__{model}__t__seed{seed}",
                                 "method": method, "target": "t", "seed": seed, "budget": budget, "model": model,
                                 "accuracy": budget / 10 + seed + (5 if model == "vgg11" else 0)})
    for model in ("vgg11", "alexnet"):
        for seed in (0, 1):
            rows.append({"suite": "s", "cell": f"no_pretrain__{model}__t__seed{seed}", "method": "no_pretrain",
                         "target": "t", "seed": seed, "budget": None, "model": model, "accuracy": 1.0 + seed})
    return rows


def test_rows_split_by_every_axis_that_varies_in_the_order_the_suite_lists_them():
    from kdss_bench.report.results_table import ResultsTable

    table = ResultsTable(_axes_rows())
    assert table.row_axes == ("method", "model", "budget") and table.column_axes == ("target",)
    labels = [row.label for row in table.rows]
    assert labels[:2] == ["krr_st (model vgg11, budget 100)", "krr_st (model vgg11, budget 500)"]
    assert labels[-2:] == ["no_pretrain (model vgg11)", "no_pretrain (model alexnet)"]
    assert table.cell_text(table.cell(table.rows[1], "t")) == "55.50 ± 0.50"


def test_rows_and_columns_can_be_chosen_and_an_axis_placed_nowhere_joins_the_rows():
    from kdss_bench.errors import KdssError
    from kdss_bench.report.results_table import ResultsTable

    table = ResultsTable(_axes_rows(), row_axes=["method", "model"], column_axes=["target", "budget"])
    assert table.targets == ["t, budget 100", "t, budget 500", "t"], "no_pretrain has no budget: its own column"
    assert table.cell(next(r for r in table.rows if r.label == "krr_st (model alexnet)"),
                      "t, budget 500").mean == pytest.approx(50.5)
    lone = ResultsTable(_axes_rows(), row_axes=["method"])
    assert lone.row_axes == ("method", "model", "budget"), "rows are never averaged over a varying axis"
    with pytest.raises(KdssError, match="unknown axis 'colour'"):
        ResultsTable(_axes_rows(), row_axes=["colour"])
    with pytest.raises(KdssError, match="both a row and a column"):
        ResultsTable(_axes_rows(), row_axes=["method", "budget"], column_axes=["budget"])
