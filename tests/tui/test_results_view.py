"""kdss_bench.tui.results_view: each suite's accuracy table as ``kdss-bench table`` computes it, best mean per
column in bold green, the missing cells named, and two cost columns per row."""

from __future__ import annotations

import asyncio

from textual.app import App
from textual.widgets import DataTable, Static

from kdss_bench.report.results_table import MISSING, ResultsTable, TableRow
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.results_view import BEST_STYLE, cost_texts, fill_table, row_members

from .conftest import demo_app, results_of, run_app, table_text, wait_for

ROWS = [{"suite": "s", "cell": "krr_st__a__seed0", "method": "krr_st", "target": "a", "seed": 0, "accuracy": 60.0,
         "wall_time_s": 10.0, "peak_memory_mb": 700.0, "budget": 12},
        {"suite": "s", "cell": "krr_st__a__seed1", "method": "krr_st", "target": "a", "seed": 1, "accuracy": 62.0,
         "wall_time_s": 30.0, "peak_memory_mb": 900.0, "budget": 12},
        {"suite": "s", "cell": "krr_st__b__seed0", "method": "krr_st", "target": "b", "seed": 0, "accuracy": None,
         "wall_time_s": 999.0, "peak_memory_mb": 5000.0, "budget": 12},
        {"suite": "s", "cell": "no_pretrain__a__seed0", "method": "no_pretrain", "target": "a", "seed": 0,
         "accuracy": 50.0, "wall_time_s": float("nan"), "peak_memory_mb": True, "budget": 12},
        {"suite": "s", "cell": "random__b__seed0", "method": "random", "target": "b", "seed": 0, "accuracy": 40.0,
         "wall_time_s": 75.0, "peak_memory_mb": 10.0, "budget": 12}]


def test_a_rows_members_are_its_methods_finished_results_with_its_settings():
    assert row_members(ROWS, TableRow("krr_st")) == ROWS[:2], "an unfinished result is not a member"
    assert row_members(ROWS, TableRow("krr_st", (("budget", 12),))) == ROWS[:2]
    assert row_members(ROWS, TableRow("krr_st", (("budget", 50),))) == []


def test_costs_are_the_mean_wall_time_and_the_peak_memory_of_the_members():
    assert cost_texts(ROWS[:2]) == ("20s", "900")
    assert cost_texts(ROWS[3:4]) == (MISSING, MISSING), "NaN and booleans are no measurement"
    assert cost_texts([]) == (MISSING, MISSING)


def test_fill_table_puts_method_rows_target_columns_and_the_costs_into_a_data_table():
    table = ResultsTable(ROWS)
    shown = {}

    class One(App):
        def compose(self):
            yield DataTable(id="t")

    async def main():
        app = One()
        async with app.run_test() as pilot:
            widget = app.query_one(DataTable)
            widget.add_column("stale")  # a previous fill: cleared, columns too
            fill_table(widget, table, ROWS)
            await pilot.pause()
            shown["text"] = table_text(widget)
            shown["columns"] = [column.value for column in widget.columns]
            shown["styles"] = {(row, col): str(widget.get_cell(row, col).style)
                               for row, col in (("krr_st", "target:a"), ("no_pretrain", "target:a"),
                                                ("krr_st", "target:b"), ("no_pretrain", "method"))}

    asyncio.run(main())
    assert shown["columns"] == ["method", "target:a", "target:b", "wall", "peak"]
    assert list(shown["text"]) == ["krr_st", "random", "no_pretrain"], "the baseline last"
    assert shown["text"]["krr_st"] == {"method": "krr_st", "target:a": "61.00 ± 1.00 (n=2)", "target:b": MISSING,
                                       "wall": "20s", "peak": "900"}, "the unfinished b result counts nowhere"
    assert shown["text"]["random"]["wall"] == "1m15s" and shown["text"]["no_pretrain"]["wall"] == MISSING
    assert shown["styles"] == {("krr_st", "target:a"): BEST_STYLE, ("no_pretrain", "target:a"): "",
                               ("krr_st", "target:b"): "dim", ("no_pretrain", "method"): "dim"}


def test_a_live_suite_shows_its_means_its_missing_cells_and_why(demo_results):
    async def scenario(app, pilot):
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(".results-table")))
        widget = app.screen.query_one(".results-table", DataTable)
        assert table_text(widget) == {
            "krr_st": {"method": "krr_st", "target:lfw_faces": "62.50 ± 1.25", "target:textures3": MISSING,
                       "wall": "10s", "peak": "710"},
            "no_pretrain": {"method": "no_pretrain", "target:lfw_faces": "58.00 (n=1 of 2)",
                            "target:textures3": MISSING, "wall": "12s", "peak": "720"}}
        assert str(widget.get_cell("krr_st", "target:lfw_faces").style) == BEST_STYLE
        assert str(widget.get_cell("no_pretrain", "method").style) == "dim", "the baseline row is dimmed"
        title, footer = (str(w.render()) for w in app.screen.query(".suite-block") if isinstance(w, Static))
        assert title == "demo" and footer.startswith("incomplete: 3 of 6 cells finished; missing: ")
        assert "no_pretrain__textures3__seed0 (failed: RuntimeError: out of memory" in footer
        assert not app.screen.query_one("#results-empty").display

    run_app(demo_app(demo_results), scenario)


def test_a_finished_suite_shows_the_table_the_cli_prints(tiny_results):
    rows = {r["cell"]: r for r in results_of(tiny_results)}

    async def scenario(app, pilot):
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(".results-table")))
        shown = table_text(app.screen.query_one(".results-table", DataTable))
        expected = ResultsTable(list(rows.values()))
        assert list(shown) == ["krr_st", "no_pretrain"]
        for method in ("krr_st", "no_pretrain"):
            for target in ("lfw_faces", "textures3"):
                assert shown[method][f"target:{target}"] == expected.cell_text(expected.cell(method, target))
            assert shown[method]["peak"].isdigit()
        best = app.screen.query_one(".results-table", DataTable).get_cell("krr_st", "target:lfw_faces")
        assert expected.cell("krr_st", "lfw_faces").best == ("bold" in str(best.style))

    run_app(DashboardApp(tiny_results), scenario, size=(120, 30))


def test_no_results_say_how_to_get_some(tmp_path):
    async def scenario(app, pilot):
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one("#results-empty").display and not app.screen.query(".results-table")
        assert "No finished results yet" in str(app.screen.query_one("#results-empty").render())

    run_app(DashboardApp(tmp_path / "missing"), scenario)
