"""kdss_bench.tui.run_detail: one cell's curves, preview images, log, config and error, live."""

from __future__ import annotations

import time

from textual.widgets import Log, Sparkline, Static, TabbedContent

from kdss_bench.store.event import Event
from kdss_bench.store.live_runs import StagePoint
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder
from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.image_grid import ImageGrid
from kdss_bench.tui.run_detail import RunDetailScreen, curve_series, curve_stages, summary_text
from kdss_bench.tui.runs_view import RunsTable

from .conftest import cell_state as state
from .conftest import demo_app, run_app, wait_for
from .fixed_results import ERROR, FAILED, RUNNING, SUITE


def point(step, **values) -> StagePoint:
    return StagePoint(step=step, total=10, time=0.0, values=values)


def test_curves_are_the_numeric_series_with_two_points_loss_first_and_no_counters_or_constants():
    points = [point(1, loss=1.0, lr=0.1, wall_time_s=3.0, model=1, note="x", flag=True, acc=5.0, syn_lr=0.2),
              point(2, loss=0.5, lr=0.1, wall_time_s=4.0, model=2, acc=float("nan"), syn_lr=0.3, zeta=1.0),
              point(3, loss=0.25, lr=0.05, accuracy=50.0)]
    series = curve_series(points)
    assert list(series) == ["loss", "lr", "syn_lr"], "acc has one finite point, accuracy one, zeta one"
    assert series == {"loss": [1.0, 0.5, 0.25], "lr": [0.1, 0.1, 0.05], "syn_lr": [0.2, 0.3]}
    flat = curve_series([point(1, loss=1.0, lr=0.1, momentum=0.9), point(2, loss=1.0, lr=0.1, momentum=0.9)])
    assert flat == {"loss": [1.0, 1.0]}, "a constant loss is still drawn; other constant series are not"
    assert curve_series([point(1, loss=1.0)]) == {}


def test_the_current_stage_comes_first_then_the_pipeline_order():
    curves = {"finetune": [], "teacher": [], "zz_custom": [], "distill": []}
    assert curve_stages(state(stage="finetune", curves=curves)) == ["finetune", "teacher", "distill", "zz_custom"]
    assert curve_stages(state(stage=None, curves=curves)) == ["teacher", "distill", "finetune", "zz_custom"]


def test_the_summary_line_names_what_is_known():
    text = str(summary_text(state(where="local cpu0"), now=1100.0)).splitlines()
    assert text[0].startswith("demo / krr_st__lfw_faces__seed0  running  distill ") and text[0].endswith(" 30/120")
    assert text[1] == "method krr_st · target lfw_faces · seed 0 · ETA 1m35s · on local cpu0 · loss 0.1234 · wall 1m40s"
    done = str(summary_text(state("done", method=None, seed=None, accuracy=61.25, stage=None, wall_time_s=9.0,
                                  eta_s=None, last_loss=None), now=0.0)).splitlines()
    assert done[0] == "demo / krr_st__lfw_faces__seed0  done"
    assert done[1] == "method ? · target lfw_faces · seed ? · accuracy 61.25% · wall 9s"


def test_a_failed_cell_opens_on_its_error_and_traceback(demo_results):
    async def scenario(app, pilot):
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.rows) == 6)
        table.move_cursor(row=[row.value for row in table.rows].index(f"{SUITE}/{FAILED}"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        assert screen.selected_key() == (SUITE, FAILED)
        assert screen.query_one(TabbedContent).active == "tab-error"
        assert ERROR in str(screen.query_one("#detail-error", Static).render())
        traceback = str(screen.query_one("#detail-traceback", Static).render())
        assert "Traceback (most recent call last)" in traceback and ERROR in traceback
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunDetailScreen))
        assert app._watched is None, "a closed detail stops the preview reads"

    run_app(demo_app(demo_results), scenario)


def test_a_running_cell_draws_curves_log_preview_and_config_and_follows_new_events(demo_results):
    run = RunDir(demo_results, SUITE, RUNNING)

    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "tab-curves"
        await wait_for(pilot, lambda: screen.query_one(ImageGrid).images is not None)
        loss = screen.query_one("#curve-distill-loss", Sparkline)
        assert list(loss.data) == [round(1.0 / (1 + 0.2 * i), 4) for i in range(1, 7)]
        assert not screen.query("#curve-distill-lr"), "a constant learning rate draws no curve"
        assert screen.query_one(ImageGrid).images.shape == (4, 8, 8, 3)
        assert "step 60/120" in str(screen.query_one("#images-caption", Static).render())
        assert len(screen.query_one(Log).lines) == 8  # cell start, distill start, 6 progress events
        summary = str(screen.query_one("#detail-summary", Static).render())
        assert "running" in summary and "60/120" in summary and "wall 1m50s" in summary  # injected clock
        await wait_for(pilot, lambda: "budget: 12" in str(screen.query_one("#detail-config", Static).render()))
        with run.event_log() as log:
            log.append(Event(run.run_id, "distill", "progress", 70, 120, {"loss": 0.1, "lr": 0.0005}, time.time()))
        await wait_for(pilot, lambda: len(screen.query_one("#curve-distill-loss", Sparkline).data) == 7)
        assert list(screen.query_one("#curve-distill-lr", Sparkline).data)[-1] == 0.0005, "now it varies"
        assert len(screen.query_one(Log).lines) == 9

    run_app(demo_app(demo_results), scenario)


def test_a_corrupt_preview_shows_no_images_and_the_dashboard_keeps_running(demo_results):
    (demo_results / SUITE / RUNNING / "preview.npz").write_bytes(b"not a zip file")

    async def scenario(app, pilot):
        app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(0.5)
        assert app.screen.query_one(ImageGrid).images is None
        assert "no preview images" in str(app.screen.query_one(ImageGrid).render())
        assert app.is_running

    run_app(demo_app(demo_results), scenario)


def test_an_unknown_cell_says_so(demo_results):
    async def scenario(app, pilot):
        app.open_detail((SUITE, "nope__x__seed0"))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert "nope__x__seed0: no such cell under results" in str(app.screen.query_one("#detail-summary").render())

    run_app(demo_app(demo_results), scenario)


def test_a_warm_up_says_what_it_is_doing_before_its_curves_start(tmp_path):
    """While KRR-ST warms its pool up, the Curves tab says so (not "no progress events yet")."""
    results = tmp_path / "results"
    cell = "krr_st__signdigits10__seed0"
    record = SuiteFolder(results, "cifar10-transfer").start_run([{"cell": cell}], suite_path=None,
                                                                executor="local", workers=2)
    now = time.time()
    run = RunDir(results, "cifar10-transfer", cell)
    with run.event_log() as log:
        for stage, kind, step, total, values in (
                ("cell", "start", 1, 1, {"run_id": record["run_id"], "method": "krr_st", "target": "signdigits10",
                                         "seed": 0}),
                ("distill", "start", None, None, {"executor": "local", "worker": "cpu1"}),
                ("distill", "progress", 0, 100, {"phase": "pool_warm_start", "model": 2, "of": 4, "steps": 9})):
            log.append(Event(run.run_id, stage, kind, step, total, values, now))

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: (("cifar10-transfer", cell) in app.cells))
        app.open_detail(("cifar10-transfer", cell))
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        empty = str(app.screen.query_one("#curves-empty", Static).render())
        assert "pool warm start: model 2 of 4" in empty and "no progress events" not in empty
        assert "on local cpu1" in str(app.screen.query_one("#detail-summary", Static).render())

    run_app(DashboardApp(results), scenario, size=(120, 40))
