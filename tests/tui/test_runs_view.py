"""kdss_bench.tui.runs_view: one row per cell with fixed-width columns for the terminal's width, rows rewritten
only when their cell changed, a summary line per suite."""

from __future__ import annotations

import time

from rich.text import Text

from kdss_bench.store.event import Event
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.runs_view import (
    CELL_MIN,
    COLUMNS,
    RunsTable,
    fit,
    middle_ellipsis,
    row_key,
    row_values,
    summary_text,
    visible_columns,
    wall_seconds,
)

from .conftest import TINY_CELLS, demo_app, results_of, run_app, table_text, wait_for
from .conftest import cell_state as state
from .fixed_results import FAILED, NOW, QUEUED, RUNNING, SUITE


def test_the_wall_time_is_the_results_when_finished_else_the_time_since_it_started():
    assert wall_seconds(state(), now=1100.0) == 100.0
    assert wall_seconds(state(), now=900.0) == 0.0, "a clock behind the event is not a negative time"
    assert wall_seconds(state("done", wall_time_s=12.5), now=1100.0) == 12.5
    assert wall_seconds(state("queued", started_at=None), now=1100.0) is None
    assert wall_seconds(state("failed"), now=1100.0) is None


def test_a_rows_texts_by_column():
    values = row_values(state(where="local cpu0@host"), now=1100.0)
    assert set(values) == {key for _, key, _, _ in COLUMNS}
    plain = {key: str(text) for key, text in values.items()}
    assert plain["status"] == "running" and plain["stage"] == "distill" and plain["eta"] == "1m35s"
    assert plain["progress"].endswith("25%") and plain["loss"] == "0.1234" and plain["accuracy"] == ""
    assert plain["wall"] == "1m40s" and plain["where"] == "local cpu0@h…", "cut to its 14 columns, one space left"
    done = {key: str(text) for key, text in row_values(state("done", accuracy=61.249, eta_s=3.0,
                                                             wall_time_s=10.0), now=1100.0).items()}
    assert done["eta"] == "" and done["accuracy"] == "61.25" and done["wall"] == "10s"
    narrow = row_values(state(cell="no_pretrain__textures3__seed0"), now=1100.0, cell_width=20, suite_width=4)
    assert str(narrow["cell"]) == middle_ellipsis("no_pretrain__textures3__seed0", 19)
    assert str(narrow["suite"]) == "de…"


def test_fit_cuts_with_an_ellipsis_and_keeps_the_style():
    cut = fit(Text("abcdefgh", style="red"), 5)
    assert str(cut) == "abcd…" and cut.style == "red"
    assert str(fit("abc", 5)) == "abc"
    original = Text("abcdefgh")
    fit(original, 3)
    assert str(original) == "abcdefgh", "the cell's text is copied, not cut in place"


def test_long_cell_ids_keep_their_seed_visible():
    cut = middle_ellipsis("no_pretrain__textures3__seed0", 24)
    assert len(cut) == 24 and cut.endswith("__seed0") and cut.startswith("no_pretrain__") and "…" in cut
    assert middle_ellipsis("krr_st__dtd10__seed1", 24) == "krr_st__dtd10__seed1"


def test_columns_by_terminal_width():
    narrow = [key for _, key, _, _ in visible_columns(80)]
    assert narrow == ["cell", "status", "stage", "progress", "eta", "loss", "accuracy"]
    assert sum(width for _, _, width, _ in visible_columns(80)) <= 78  # fits 80 with the scrollbar
    at_120 = {key: width for _, key, width, _ in visible_columns(120)}
    assert set(at_120) == {"suite", "cell", "status", "stage", "progress", "eta", "loss", "accuracy", "wall"}
    assert at_120["cell"] >= 40 and sum(at_120.values()) <= 118, "120 columns: a 40-character cell id fits whole"
    assert [key for _, key, _, _ in visible_columns(140)][-1] == "where"
    assert {key: width for _, key, width, _ in visible_columns(40)}["cell"] == CELL_MIN, "never narrower"


def test_the_summary_counts_each_suites_cells_and_names_its_live_runs():
    cells = {("a", "x"): state("done", suite="a", cell="x"), ("a", "y"): state("failed", suite="a", cell="y"),
             ("a", "z"): state("done", suite="a", cell="z"), ("b", "w"): state("running", suite="b", cell="w")}
    order = [("a", "x"), ("a", "y"), ("a", "z"), ("b", "w")]
    text = str(summary_text(cells, order, {"a": False, "b": True}, {"b": ["local, pid 7"]}))
    assert text == "a  3 cells: 2 done, 1 failed  no runner\nb  1 cells: 1 running  runner alive (local, pid 7)"
    two = str(summary_text(cells, order[3:], {"b": True}, {"b": ["inline, pid 1", "local, pid 2"]}))
    assert two.endswith("2 runs alive (inline, pid 1; local, pid 2)")
    assert str(summary_text(cells, order[3:], {"b": True}, {"b": ["inline, pid 1"]})).endswith("runner alive")


def test_a_finished_suite_shows_its_cells_in_plan_order_with_their_accuracies(tiny_results):
    rows = {r["cell"]: r for r in results_of(tiny_results)}

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 4)
        cells = table_text(app.screen.query_one(RunsTable))
        assert list(cells) == [row_key("tiny", cell) for cell in TINY_CELLS]  # plan order
        for cell in TINY_CELLS:
            row = cells[f"tiny/{cell}"]
            assert row["status"] == "done" and row["progress"].endswith("100%") and row["suite"] == "tiny"
            assert row["accuracy"] == f"{rows[cell]['accuracy']:.2f}"
        assert "4 cells: 4 done" in str(app.screen.query_one("#runs-summary").render())

    run_app(DashboardApp(tiny_results), scenario, size=(120, 30))


def test_a_narrow_terminal_shows_the_essential_columns_and_a_resize_rebuilds_them(tiny_results):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 4)
        assert [column.value for column in app.screen.query_one(RunsTable).columns] == [
            key for _, key, _, _ in visible_columns(80)]
        await pilot.resize_terminal(140, 30)
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).columns) == len(COLUMNS))
        assert len(app.screen.query_one(RunsTable).rows) == 4

    run_app(DashboardApp(tiny_results), scenario, size=(80, 24))


def test_statuses_of_a_live_suite_and_a_new_event_rewrites_only_its_row(demo_results):
    run = RunDir(demo_results, SUITE, RUNNING)

    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.rows) == 6)
        cells = table_text(table)
        assert (cells[f"{SUITE}/{FAILED}"]["status"], cells[f"{SUITE}/{RUNNING}"]["status"],
                cells[f"{SUITE}/{QUEUED}"]["status"]) == ("failed", "running", "queued")
        assert cells[f"{SUITE}/{RUNNING}"]["progress"].endswith("50%")
        with run.event_log() as log:
            log.append(Event(run.run_id, "distill", "progress", 90, 120, {"loss": 0.05}, NOW))
        await wait_for(pilot, lambda: str(table.get_cell(f"{SUITE}/{RUNNING}", "progress")).endswith("75%"))
        again = table_text(table)
        assert again[f"{SUITE}/{RUNNING}"]["loss"] == "0.05"
        assert {k: v for k, v in again.items() if k != f"{SUITE}/{RUNNING}"} == {
            k: v for k, v in cells.items() if k != f"{SUITE}/{RUNNING}"}
        summary = str(app.screen.query_one("#runs-summary").render())
        assert summary.startswith(f"{SUITE}  6 cells: 3 done, 1 running, 1 queued, 1 failed  runner alive")

    run_app(demo_app(demo_results), scenario)


def test_at_120_columns_the_whole_cell_id_and_a_small_loss_fit(tmp_path):
    results = tmp_path / "results"
    cell, done = "krr_st__signdigits10__seed0", "no_pretrain__signdigits10__seed0"
    record = SuiteFolder(results, "cifar10-transfer").start_run(
        [{"cell": cell}, {"cell": done}], suite_path=None, executor="local", workers=2)
    now = time.time()
    for name, stage, values in ((cell, "distill", {"loss": 0.5}), (done, "finetune", {"loss": 6.019e-05})):
        run = RunDir(results, "cifar10-transfer", name)
        with run.event_log() as log:
            log.append(Event(run.run_id, "cell", "start", 1, 2, {"run_id": record["run_id"]}, now))
            log.append(Event(run.run_id, stage, "progress", 5, 10, values, now))

    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.rows) == 2)
        cells = table_text(table)
        assert cells[f"cifar10-transfer/{cell}"]["cell"] == cell, "the whole id fits at 120 columns"
        assert cells[f"cifar10-transfer/{done}"]["loss"] == "6.0e-05"

    run_app(DashboardApp(results), scenario, size=(120, 40))
