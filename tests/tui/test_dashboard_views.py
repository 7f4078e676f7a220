"""Pilot tests of the views on real results: the runs table, the results table, detail, export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from textual.widgets import DataTable, Log, Sparkline, Static, TabbedContent

from kdss_bench.report.results_table import ResultsTable
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.image_grid import ImageGrid
from kdss_bench.tui.launch_screen import LaunchScreen
from kdss_bench.tui.run_detail import RunDetailScreen
from kdss_bench.tui.runs_view import COLUMNS, RunsTable, visible_columns

from .conftest import TINY_CELLS, demo_app, notifications, run_app, wait_for
from .fixed_results import DONE, ERROR, FAILED, QUEUED, RUNNING, SUITE


def table_text(table: DataTable) -> dict[str, dict[str, str]]:
    """Row key -> column key -> the cell's plain text."""
    return {
        row.value: {column.value: str(table.get_cell(row, column)) for column in table.columns}
        for row in table.rows
    }


def results_of(root: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(root.glob("*/*/result.json"))]


def test_opens_on_a_finished_suite_with_its_cells_and_accuracies(tiny_results):
    rows = {r["cell"]: r for r in results_of(tiny_results)}

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 4)
        cells = table_text(app.screen.query_one(RunsTable))
        assert list(cells) == [f"tiny/{cell}" for cell in TINY_CELLS]  # plan order
        for cell in TINY_CELLS:
            row = cells[f"tiny/{cell}"]
            assert row["status"] == "done" and row["progress"].endswith("100%")
            assert row["accuracy"] == f"{rows[cell]['accuracy']:.2f}"
            assert row["suite"] == "tiny"
        assert "4 cells: 4 done" in str(app.screen.query_one("#runs-summary", Static).render())

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


def test_narrow_terminal_keeps_the_essential_columns_and_wide_ones_give_the_cell_the_room(tiny_results):
    narrow = [key for _, key, _, _ in visible_columns(80)]
    assert narrow == ["cell", "status", "stage", "progress", "eta", "loss", "accuracy"]
    assert sum(width for _, _, width, _ in visible_columns(80)) <= 78  # fits 80 with the scrollbar
    at_120 = {key: width for _, key, width, _ in visible_columns(120)}
    assert set(at_120) == {"suite", "cell", "status", "stage", "progress", "eta", "loss", "accuracy", "wall"}
    assert at_120["cell"] >= 40 and sum(at_120.values()) <= 118, "120 columns: a 40-character cell id fits whole"
    assert [key for _, key, _, _ in visible_columns(140)][-1] == "where"

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 4)
        assert [column.value for column in app.screen.query_one(RunsTable).columns] == narrow
        await pilot.resize_terminal(140, 30)
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).columns) == len(COLUMNS))
        assert len(app.screen.query_one(RunsTable).rows) == 4

    run_app(DashboardApp(tiny_results), scenario, size=(80, 24))


def test_a_failed_cell_shows_its_error_and_traceback(demo_results):
    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.rows) == 6)
        cells = table_text(table)
        assert cells[f"{SUITE}/{FAILED}"]["status"] == "failed"
        assert cells[f"{SUITE}/{RUNNING}"]["status"] == "running"
        assert cells[f"{SUITE}/{QUEUED}"]["status"] == "queued"
        table.move_cursor(row=list(cells).index(f"{SUITE}/{FAILED}"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "tab-error"
        assert ERROR in str(screen.query_one("#detail-error", Static).render())
        traceback = str(screen.query_one("#detail-traceback", Static).render())
        assert "Traceback (most recent call last)" in traceback and ERROR in traceback
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunDetailScreen))

    run_app(demo_app(demo_results), scenario)


def test_detail_of_a_running_cell_draws_curves_log_and_preview(demo_results):
    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one(ImageGrid).images is not None)
        loss = screen.query_one("#curve-distill-loss", Sparkline)
        assert list(loss.data) == [round(1.0 / (1 + 0.2 * i), 4) for i in range(1, 7)]
        assert screen.query_one(ImageGrid).images.shape == (4, 8, 8, 3)
        assert "step 60/120" in str(screen.query_one("#images-caption", Static).render())
        assert len(screen.query_one(Log).lines) == 8  # cell start, distill start, 6 progress events
        summary = str(screen.query_one("#detail-summary", Static).render())
        assert "running" in summary and "60/120" in summary and "wall 1m50s" in summary  # injected clock
        await wait_for(pilot, lambda: "budget: 12" in str(screen.query_one("#detail-config", Static).render()))

    run_app(demo_app(demo_results), scenario)


def test_a_corrupt_preview_does_not_take_the_dashboard_down(demo_results):
    (demo_results / SUITE / RUNNING / "preview.npz").write_bytes(b"not a zip file")

    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(0.5)
        assert app.screen.query_one(ImageGrid).images is None
        assert "no preview images" in str(app.screen.query_one(ImageGrid).render())
        assert app.is_running

    run_app(demo_app(demo_results), scenario)


def test_export_writes_the_tables_next_to_the_results(demo_results):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.result_rows) == len(DONE))
        await pilot.press("e")
        folder = demo_results / SUITE / "_suite"
        await wait_for(pilot, lambda: (folder / "table.json").is_file())
        await app.workers.wait_for_complete()
        table = json.loads((folder / "table.json").read_text())
        krr = next(item for item in table if item["method"] == "krr_st" and item["target"] == "lfw_faces")
        assert (krr["mean"], krr["n"]) == (62.5, 2)
        from kdss_bench.results import load

        exported = (folder / "table.md").read_text()
        assert "**62.50 ± 1.25**" in exported
        assert exported == load(demo_results).tables()[SUITE].to_markdown(), "the texts `table` prints"
        assert (folder / "table.csv").read_text().startswith("method,target,mean,std,n")
        await wait_for(pilot, lambda: any("table.md" in text for text in notifications(app)))

    run_app(demo_app(demo_results), scenario)


def test_launch_dialog_lists_suites_and_refuses_a_missing_path(tmp_path):
    suites = tmp_path / "suites"
    (suites / "paper").mkdir(parents=True)
    for name in ("quick.yaml", "paper/big.yaml"):
        (suites / name).write_text("name: x\n")
    launched = []

    async def scenario(app, pilot):
        app.launch_suite = lambda path, cells=(): launched.append(path)  # the dialog's result, not a run
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        assert app.screen.suites == [suites / "paper" / "big.yaml", suites / "quick.yaml"]
        await pilot.click("#launch-path")
        await pilot.press(*"missing.yaml", "enter")
        await pilot.pause()
        assert "no such file" in str(app.screen.query_one("#launch-error", Static).render())
        assert isinstance(app.screen, LaunchScreen)
        app.screen.query_one("#launch-suites").focus()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        assert launched == [suites / "quick.yaml"]

    run_app(DashboardApp(tmp_path / "results", suites_dir=suites), scenario)


def test_an_empty_results_folder_says_how_to_start(tmp_path):
    async def scenario(app, pilot):
        summary = str(app.screen.query_one("#runs-summary", Static).render())
        assert "No runs under" in summary and "kdss-bench run SUITE" in summary
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one("#results-empty").display

    run_app(DashboardApp(tmp_path / "missing"), scenario)


def test_an_error_in_a_view_is_shown_and_the_dashboard_keeps_running(demo_results):
    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        app.screen.live_updated = lambda update: (_ for _ in ()).throw(ValueError("boom"))  # a view's bug
        images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
        from kdss_bench.store.preview_file import write_preview

        write_preview(demo_results / SUITE / RUNNING / "preview.npz", images.transpose(0, 3, 1, 2), step=1,
                      total=2)
        await wait_for(pilot, lambda: any("boom" in text for text in notifications(app)))
        assert app.is_running

    run_app(demo_app(demo_results), scenario)


def test_a_burst_of_events_is_coalesced_into_a_few_repaints_per_second(demo_results):
    from kdss_bench.store.event import Event
    from kdss_bench.store.run_dir import RunDir

    run = RunDir(demo_results, SUITE, RUNNING)

    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        before = app.polls_applied
        started = time.monotonic()
        with run.event_log() as log:
            for step in range(61, 121):  # 60 events, one every 20 ms
                log.append(Event.now(run.run_id, "distill", "progress", step, 120, {"loss": 0.1}))
                await pilot.pause(0.02)
        await wait_for(pilot, lambda: str(table.get_cell(f"{SUITE}/{RUNNING}", "progress")).endswith("100%"))
        elapsed = time.monotonic() - started
        applied = app.polls_applied - before
        assert 1 <= applied <= elapsed / app.poll_interval + 2  # at most one repaint per tick, not one per event

    run_app(demo_app(demo_results), scenario)


def test_the_command_palette_lists_the_dashboard_actions(tmp_path):
    async def scenario(app, pilot):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Runs", "Results", "Launch suite", "Cancel run", "Re-run failed cell", "Export tables"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"export", "enter")  # runs the action: nothing to export yet, and it says so
        await wait_for(pilot, lambda: any("no finished results" in text for text in notifications(app)))

    run_app(DashboardApp(tmp_path / "results"), scenario)


def test_at_120_columns_a_warm_up_shows_in_curves_and_names_fit(tmp_path):
    """While KRR-ST warms its pool up, the Curves tab says what it is doing (not "no progress events
    yet"), and at 120 columns the whole cell id and a small loss in scientific notation fit."""
    from kdss_bench.store.event import Event
    from kdss_bench.store.run_dir import RunDir
    from kdss_bench.store.suite_folder import SuiteFolder

    results = tmp_path / "results"
    cell = "krr_st__signdigits10__seed0"
    done = "no_pretrain__signdigits10__seed0"
    record = SuiteFolder(results, "cifar10-transfer").start_run(
        [{"cell": cell}, {"cell": done}], suite_path=None, executor="local", workers=2)
    now = time.time()
    run = RunDir(results, "cifar10-transfer", cell)
    with run.event_log() as log:
        for stage, kind, step, total, values in (
                ("cell", "start", 1, 2, {"run_id": record["run_id"], "method": "krr_st", "target": "signdigits10",
                                         "seed": 0}),
                ("distill", "start", None, None, {"executor": "local", "worker": "cpu1"}),
                ("distill", "progress", 0, 100, {"phase": "pool_warm_start", "model": 2, "of": 4, "steps": 9})):
            log.append(Event(run.run_id, stage, kind, step, total, values, now))
    other = RunDir(results, "cifar10-transfer", done)
    with other.event_log() as log:
        log.append(Event(other.run_id, "cell", "start", 2, 2, {"run_id": record["run_id"]}, now))
        log.append(Event(other.run_id, "finetune", "progress", 5, 10, {"loss": 6.019e-05}, now))

    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.rows) == 2)
        cells = table_text(table)
        assert cells[f"cifar10-transfer/{cell}"]["cell"] == cell, "the whole id fits at 120 columns"
        assert cells[f"cifar10-transfer/{done}"]["loss"] == "6.0e-05"
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        empty = str(app.screen.query_one("#curves-empty", Static).render())
        assert "pool warm start: model 2 of 4" in empty and "no progress events" not in empty
        summary = str(app.screen.query_one("#detail-summary", Static).render())
        assert "on local cpu1" in summary

    run_app(DashboardApp(results), scenario, size=(120, 40))
