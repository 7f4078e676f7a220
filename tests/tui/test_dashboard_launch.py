"""Launching, watching, cancelling and re-running real suite runs from the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from kdss_bench.store.event import Event
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.launch_screen import LaunchScreen
from kdss_bench.tui.runs_view import RunsTable, row_key

from ..conftest import TINY_SUITE
from .conftest import TINY_CELLS, notifications, run_app, wait_for

RUN_TIMEOUT = 120.0
"""Bounded waits for a real run (import torch, load data, train) on a busy 2-core machine."""
pytestmark = pytest.mark.slow


def status_of(app: DashboardApp, suite: str, cell: str) -> str | None:
    state = app.cells.get((suite, cell))
    return None if state is None else state.status


def test_launch_from_the_dialog_then_watch_progress_and_the_table_fill(tmp_path):
    suite_path = tmp_path / "tiny.yaml"
    suite_path.write_text(TINY_SUITE)
    results = tmp_path / "results"
    seen: list[set[str]] = []

    async def scenario(app, pilot):
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        app.screen.query_one("#launch-path", Input).value = str(suite_path)  # typing a long path is slow
        await pilot.click("#launch-path")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.launcher.running("tiny") is not None)

        def finished() -> bool:
            seen.append({state.status for state in app.cells.values()})
            return len(app.result_rows) == 4 and app.launcher.running("tiny") is None

        await wait_for(pilot, finished, timeout=RUN_TIMEOUT, step=0.1)
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: all(str(table.get_cell(row_key("tiny", c), "status")) == "done"
                                          for c in TINY_CELLS))
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(".results-table")))
        methods = [row.value for row in app.screen.query_one(".results-table").rows]
        assert methods == ["krr_st", "no_pretrain"]
        await wait_for(pilot, lambda: any("tiny: finished" in text for text in notifications(app)))

    run_app(DashboardApp(results), scenario)
    live = [statuses for statuses in seen if statuses]
    assert live and live[0] & {"queued", "running"}, f"the run was never seen in progress: {live[:3]}"
    assert live[-1] == {"done"}
    assert any((results / "tiny" / "_suite").glob("launch-*.log"))


def test_cancel_stops_the_running_cell_and_keeps_the_dashboard(tmp_path):
    long_suite = TINY_SUITE.replace("outer_steps: 4", "outer_steps: 1000000")  # distils until cancelled
    suite_path = tmp_path / "long.yaml"
    suite_path.write_text(long_suite)
    cell = "krr_st__lfw_faces__seed0"

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: (state := app.cells.get(("tiny", cell))) is not None
                       and state.status == "running" and state.stage == "distill" and state.step,
                       timeout=RUN_TIMEOUT, step=0.1)
        table = app.screen.query_one(RunsTable)
        table.move_cursor(row=table.get_row_index(row_key("tiny", cell)))
        await pilot.press("c")
        await wait_for(pilot, lambda: status_of(app, "tiny", cell) == "cancelled", timeout=RUN_TIMEOUT)
        await wait_for(pilot, lambda: app.launcher.running("tiny") is None, timeout=RUN_TIMEOUT)
        assert app.launcher.launches()[0].returncode == 130
        assert str(table.get_cell(row_key("tiny", cell), "status")) == "cancelled"
        await wait_for(pilot, lambda: any("tiny: cancelled" in text for text in notifications(app)))
        assert app.is_running

    run_app(DashboardApp(tmp_path / "results", suite_path=suite_path), scenario)  # SUITE given: launched at start


def test_a_suite_that_cannot_start_shows_its_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\nsource: digits\nbudget: -3\n")

    async def scenario(app, pilot):
        app.launch_suite(bad)
        await wait_for(pilot, lambda: any("broken: could not start" in text for text in notifications(app)),
                       timeout=RUN_TIMEOUT)
        message = next(text for text in notifications(app) if "could not start" in text)
        assert "error:" in message  # the run's one-line error, from its log
        assert app.is_running

    run_app(DashboardApp(tmp_path / "results"), scenario)


def test_rerun_a_failed_cell(tiny_results):
    cell = "no_pretrain__textures3__seed0"
    run = RunDir(tiny_results, "tiny", cell)
    run.result_path.unlink()
    with run.event_log() as log:  # the cell's latest run crashed
        log.append(Event.now(run.run_id, "cell", "start", 4, 4, {"method": "no_pretrain"}))
        log.append(Event.now(run.run_id, "cell", "error", values={"message": "ValueError: boom"}))
    latest = SuiteFolder(tiny_results, "tiny").latest_run()
    assert Path(latest["suite_path"]).is_file()

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: status_of(app, "tiny", cell) == "failed")
        table = app.screen.query_one(RunsTable)
        table.move_cursor(row=table.get_row_index(row_key("tiny", cell)))
        await pilot.pause()
        await pilot.press("R")
        await wait_for(pilot, lambda: app.launcher.launches() != [])
        assert app.launcher.launches()[0].cells == (cell,)
        await wait_for(pilot, lambda: status_of(app, "tiny", cell) == "done" and app.launcher.running("tiny") is None,
                       timeout=RUN_TIMEOUT, step=0.1)
        assert app.launcher.launches()[0].returncode == 0

    run_app(DashboardApp(tiny_results), scenario)
