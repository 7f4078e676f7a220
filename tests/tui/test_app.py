"""kdss_bench.tui.app: the dashboard's modes, polling tick, actions (launch, cancel, rerun, export) and its
rule that no error takes it down."""

from __future__ import annotations

import json
import time

import numpy as np

from kdss_bench.results import load
from kdss_bench.store.event import Event
from kdss_bench.store.preview_file import write_preview
from kdss_bench.store.run_dir import RunDir
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.live_feed import LiveFeed
from kdss_bench.tui.results_view import ResultsScreen
from kdss_bench.tui.run_detail import RunDetailScreen
from kdss_bench.tui.runs_view import RunsScreen, RunsTable, row_key

from .conftest import demo_app, notifications, run_app, wait_for
from .fixed_results import DONE, FAILED, RUNNING, SUITE


def select(app, key) -> None:
    table = app.screen.query_one(RunsTable)
    table.move_cursor(row=table.get_row_index(row_key(*key)))


def test_r_and_t_switch_between_the_runs_and_the_results(demo_results):
    async def scenario(app, pilot):
        assert isinstance(app.screen, RunsScreen) and app.current_mode == "runs"
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert len(app.order) == 6 and app.polls_applied >= 1

    run_app(demo_app(demo_results), scenario)


def test_cancel_and_rerun_are_offered_only_where_they_apply(demo_results):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 6)
        select(app, (SUITE, RUNNING))
        await pilot.pause()
        assert app.selected_key() == (SUITE, RUNNING) and app.selected_state().status == "running"
        assert app.check_action("cancel", ()) is True, "its suite's runner is alive (this process)"
        assert app.check_action("rerun_failed", ()) is None, "a running cell is not re-run"
        select(app, (SUITE, FAILED))
        await pilot.pause()
        assert app.check_action("rerun_failed", ()) is None, "not while its suite still runs"
        assert app.check_action("export", ()) is True
        await pilot.press("R")  # a dimmed binding does nothing
        await pilot.pause(0.3)
        assert app.launcher.launches() == [] and notifications(app) == []
        app.action_rerun_failed()  # as the command palette calls it: refused too, while the suite runs
        await wait_for(pilot, lambda: any(f"{SUITE} is still running" in t for t in notifications(app)))
        select(app, (SUITE, next(iter(DONE))))
        await pilot.pause()
        app.action_rerun_failed()
        await wait_for(pilot, lambda: any("select a failed, cancelled or stale cell" in t for t in notifications(app)))
        assert app.launcher.launches() == []

    run_app(demo_app(demo_results), scenario)


def test_cancel_without_a_selection_and_a_launch_of_a_missing_file_say_so(tmp_path):
    async def scenario(app, pilot):
        assert app.selected_key() is None and app.check_action("cancel", ()) is None, "dimmed in the footer"
        app.action_cancel()  # as the command palette calls it
        await wait_for(pilot, lambda: any("select a cell of the run to cancel" in t for t in notifications(app)))
        app.launch_suite(tmp_path / "missing.yaml")
        await wait_for(pilot, lambda: any("missing.yaml: no such suite file" in t for t in notifications(app)))
        assert app.launcher.launches() == []

    run_app(DashboardApp(tmp_path / "results"), scenario)


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
        assert (folder / "table.md").read_text() == load(demo_results).tables()[SUITE].to_markdown()
        await wait_for(pilot, lambda: any("table.md" in text for text in notifications(app)))

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


def test_an_empty_results_folder_says_how_to_start(tmp_path):
    async def scenario(app, pilot):
        summary = str(app.screen.query_one("#runs-summary").render())
        assert "No runs under" in summary and "kdss-bench run SUITE" in summary

    run_app(DashboardApp(tmp_path / "missing"), scenario)


def test_an_error_in_a_view_is_shown_and_the_dashboard_keeps_running(demo_results):
    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        app.screen.live_updated = lambda update: (_ for _ in ()).throw(ValueError("boom"))  # a view's bug
        images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
        write_preview(demo_results / SUITE / RUNNING / "preview.npz", images.transpose(0, 3, 1, 2), step=1,
                      total=2)
        await wait_for(pilot, lambda: any("boom" in text for text in notifications(app)))
        assert app.is_running

    run_app(demo_app(demo_results), scenario)


def test_a_failing_poll_is_reported_once_and_polling_goes_on(tmp_path):
    class Failing(LiveFeed):
        calls = 0

        def poll(self, watched=None):
            Failing.calls += 1
            raise RuntimeError("the disk went away")

    async def scenario(app, pilot):
        app.feed = Failing(app.results_root, app.launcher)
        await wait_for(pilot, lambda: Failing.calls >= 3)
        shown = [text for text in notifications(app) if "the disk went away" in text]
        assert shown == [f"polling {app.results_root} failed: RuntimeError: the disk went away"]
        assert app.is_running

    run_app(DashboardApp(tmp_path / "results"), scenario)


def test_a_burst_of_events_is_coalesced_into_a_few_repaints_per_second(demo_results):
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


def test_rerun_of_a_failed_cell_whose_suite_file_is_unknown_says_so(demo_results):
    import json
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    for record_path in (demo_results / SUITE / "_suite" / "runs").glob("*.json"):  # the run has ended
        record = json.loads(record_path.read_text())
        record_path.write_text(json.dumps({**record, "pid": child.pid}))

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.screen.query_one(RunsTable).rows) == 6)
        select(app, (SUITE, FAILED))
        await pilot.pause()
        assert not app.suite_running(SUITE) and app.check_action("rerun_failed", ()) is True
        app.action_rerun_failed()
        await wait_for(pilot, lambda: any("the suite file of demo is unknown" in t for t in notifications(app)))
        assert app.launcher.launches() == []

    run_app(demo_app(demo_results), scenario)
