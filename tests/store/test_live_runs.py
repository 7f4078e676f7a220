"""LiveRuns: the dashboard's view of run folders written by the real EventLog / RunDir / runner."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from kdss_bench.store.event import Event
from kdss_bench.store.live_runs import LOG_LINES, LiveRuns, render_event
from kdss_bench.store.preview_file import write_preview
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder

from ..conftest import TINY_SUITE

T0 = 1_700_000_000.0
CELL = "krr_st__gtsrb43__seed0"


def append(root, cell, *events, suite="s"):
    """Appends (stage, kind, step, total, values, time) tuples to the cell's events.jsonl."""
    run = RunDir(root, suite, cell)
    with run.event_log() as log:
        for stage, kind, step, total, values, stamp in events:
            log.append(Event(run.run_id, stage, kind, step, total, values, stamp))
    return run


def started(t=T0, method="krr_st", target="gtsrb43", seed=0):
    return ("cell", "start", 1, 3, {"method": method, "target": target, "seed": seed}, t)


def write_runner(root, pid, suite="s", started_at=None, cells=(), run_id="run-1", state="running"):
    """A run record ``_suite/runs/<run_id>.json`` as ``kdss-bench run`` writes it."""
    folder = SuiteFolder(root, suite)
    folder.runs_path.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "suite": suite, "pid": pid, "host": socket.gethostname(),
              "started_at": time.time() if started_at is None else started_at, "suite_path": "/x/s.yaml",
              "results_root": str(root), "executor": "inline", "workers": None, "state": state, "ended_at": None,
              "cells": [dict(cell) for cell in cells]}
    folder.run_path(run_id).write_text(json.dumps(record))
    return record


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_cell_shows_stage_progress_eta_loss_and_curves(tmp_path):
    write_runner(tmp_path, os.getpid())
    append(tmp_path, CELL, started(),
           ("teacher", "start", None, None, {"cached": True}, T0 + 1),
           ("teacher", "end", None, None, {"cached": True}, T0 + 2),
           ("distill", "start", None, None, {"cached": False}, T0 + 3),
           ("distill", "progress", 0, 100, {"phase": "pool_warm_start"}, T0 + 4),
           ("distill", "progress", 0, 100, {"phase": "pool_warm_start"}, T0 + 10),  # warm-up: no steps yet
           ("distill", "progress", 10, 100, {"loss": 0.5, "lr": 0.01}, T0 + 15),
           ("distill", "progress", 20, 100, {"loss": 0.25, "lr": 0.01}, T0 + 20))
    live = LiveRuns(tmp_path)
    assert live.poll() == {("s", CELL)}
    [state] = live.cells()
    assert (state.status, state.stage, state.step, state.total) == ("running", "distill", 20, 100)
    assert (state.method, state.target, state.seed) == ("krr_st", "gtsrb43", 0)
    assert state.eta_s == pytest.approx(40.0)  # 20 steps in the 10 s after warm-up -> 80 steps left at 2/s
    assert state.last_loss == 0.25 and state.accuracy is None and state.error is None
    assert state.started_at == T0 and state.updated_at == T0 + 20
    assert [p.values["loss"] for p in state.curves["distill"]] == [0.5, 0.25]
    assert [p.step for p in state.curves["distill"]] == [10, 20]
    assert "teacher" not in state.curves, "start/end events carry no curve points"
    assert state.log[-1].endswith("distill progress 20/100 loss=0.25 lr=0.01")
    assert live.runner_alive("s") and live.suites() == ["s"]


def test_second_poll_without_changes_reports_nothing_and_new_events_only_their_cell(tmp_path):
    write_runner(tmp_path, os.getpid())
    append(tmp_path, CELL, started())
    append(tmp_path, "other__x__seed0", started())
    live = LiveRuns(tmp_path)
    assert live.poll() == {("s", CELL), ("s", "other__x__seed0")}
    assert live.poll() == set()
    append(tmp_path, CELL, ("distill", "progress", 5, 10, {"loss": 1.0}, T0 + 1))
    assert live.poll() == {("s", CELL)}
    assert live.cell("s", CELL).step == 5
    assert live.poll() == set()


def test_a_half_written_event_line_waits_until_complete(tmp_path):
    write_runner(tmp_path, os.getpid())
    run = append(tmp_path, CELL, started())
    line = Event(run.run_id, "distill", "progress", 7, 10, {"loss": 0.3}, T0 + 1).to_json_line().encode()
    with open(run.events_path, "ab") as handle:
        handle.write(line[:25])
    live = LiveRuns(tmp_path)
    live.poll()
    state = live.cell("s", CELL)
    assert state.status == "running" and state.step is None and len(state.log) == 1
    with open(run.events_path, "ab") as handle:
        handle.write(line[25:])
    assert live.poll() == {("s", CELL)}
    state = live.cell("s", CELL)
    assert state.step == 7 and state.last_loss == 0.3 and len(state.log) == 2


def test_a_failed_cell_shows_its_error_and_traceback(tmp_path):
    append(tmp_path, CELL, started(),
           ("finetune", "start", None, None, {}, T0 + 1),
           ("cell", "error", None, None, {"message": "RuntimeError: boom", "traceback": "Traceback ...\nboom"},
            T0 + 31))
    live = LiveRuns(tmp_path)
    live.poll()
    state = live.cell("s", CELL)
    assert state.status == "failed" and state.error == "RuntimeError: boom"
    assert state.traceback == "Traceback ...\nboom" and state.wall_time_s == pytest.approx(31.0)
    assert state.eta_s is None and state.accuracy is None
    assert "traceback" not in state.log[-1] and "message=RuntimeError: boom" in state.log[-1]


def test_a_cancelled_cell_and_a_restart_after_it(tmp_path):
    append(tmp_path, CELL, started(), ("cell", "error", None, None, {"message": "cancelled"}, T0 + 5))
    live = LiveRuns(tmp_path)
    live.poll()
    assert live.cell("s", CELL).status == "cancelled"
    write_runner(tmp_path, os.getpid())
    append(tmp_path, CELL, started(T0 + 100), ("pretrain", "progress", 1, 2, {"loss": 2.0}, T0 + 101))
    live.poll()
    state = live.cell("s", CELL)
    assert state.status == "running" and state.error is None and state.started_at == T0 + 100
    assert list(state.curves) == ["pretrain"], "curves describe the latest run only"
    assert len(state.log) == 4, "the log keeps earlier runs' lines"


def test_events_stopped_and_runner_process_gone_is_stale(tmp_path):
    append(tmp_path, CELL, started(), ("distill", "progress", 3, 10, {"loss": 1.0}, T0 + 1))
    write_runner(tmp_path, dead_pid())
    live = LiveRuns(tmp_path)
    live.poll()
    assert live.cell("s", CELL).status == "stale" and not live.runner_alive("s")
    assert live.cell("s", CELL).eta_s is None
    write_runner(tmp_path, os.getpid())  # a runner that lives: the same events mean running
    assert live.poll() == {("s", CELL)}
    assert live.cell("s", CELL).status == "running" and live.runner_alive("s")
    assert live.runner_info("s")["pid"] == os.getpid()
    SuiteFolder(tmp_path, "s").end_run(live.runner_info("s"), "finished")  # ended, no terminal event for the cell
    assert live.poll() == {("s", CELL)}
    assert live.cell("s", CELL).status == "stale" and live.runner_info("s") is None


def test_queued_cells_come_from_the_plan_in_plan_order(tmp_path):
    t0 = time.time()  # the run record must postdate this process, or its pid counts as reused
    write_runner(tmp_path, os.getpid(), started_at=t0,
                 cells=[{"cell": name, "method": name.split("__")[0], "target": "t", "seed": 0}
                        for name in ("b__t__seed0", "a__t__seed0", "c__t__seed0")])
    append(tmp_path, "b__t__seed0", started(t0 + 1, method="b", target="t"))
    append(tmp_path, "0_unplanned__t__seed0", started(t0 - 50, method="0_unplanned", target="t"),
           ("cell", "end", None, None, {"accuracy": 10.0, "wall_time_s": 3.0}, t0 - 40))
    RunDir(tmp_path, "s", "0_unplanned__t__seed0").write_result({"accuracy": 10.0, "wall_time_s": 3.0})
    live = LiveRuns(tmp_path)
    live.poll()
    states = live.cells("s")
    assert [s.cell for s in states] == ["b__t__seed0", "a__t__seed0", "c__t__seed0", "0_unplanned__t__seed0"]
    assert [s.status for s in states] == ["running", "queued", "queued", "done"]
    assert (states[1].method, states[1].target, states[1].seed) == ("a", "t", 0)
    assert states[3].accuracy == 10.0 and states[3].wall_time_s == 3.0
    assert not (tmp_path / "s" / "a__t__seed0").exists(), "a watcher never creates folders"


def test_a_planned_cell_with_a_reusable_result_is_cached(tmp_path):
    old = RunDir(tmp_path, "s", CELL)
    append(tmp_path, CELL, started(T0 - 100), ("cell", "end", None, None, {"accuracy": 55.0}, T0 - 10))
    old.write_result({"accuracy": 55.0, "wall_time_s": 90.0, "config_hash": "h1"})
    changed = RunDir(tmp_path, "s", "dm__gtsrb43__seed0")
    changed.write_result({"accuracy": 40.0, "config_hash": "old"})
    write_runner(tmp_path, os.getpid(), started_at=T0,
                 cells=[{"cell": CELL, "config_hash": "h1"}, {"cell": "dm__gtsrb43__seed0", "config_hash": "new"}])
    live = LiveRuns(tmp_path)
    live.poll()
    cached, queued = live.cells("s")
    assert cached.status == "cached" and cached.accuracy == 55.0 and cached.wall_time_s == 90.0
    assert queued.status == "queued" and queued.accuracy is None, "a changed config runs again"
    assert (queued.method, queued.target, queued.seed) == ("dm", "gtsrb43", 0), "parsed from the cell id"
    assert [row["config_hash"] for row in live.result_rows()] == ["h1", "old"], "rows in the run's order"


def test_result_rows_skip_unreadable_results_and_previews_load(tmp_path):
    RunDir(tmp_path, "s", CELL).write_result({"accuracy": 61.25})
    torn = RunDir(tmp_path, "s", "torn__x__seed0").create()
    torn.result_path.write_text('{"suite": "s", "ce')
    images = np.random.default_rng(0).normal(size=(40, 3, 8, 8)).astype(np.float32)
    write_preview(RunDir(tmp_path, "s", CELL).preview_path, images, step=5, total=50)
    live = LiveRuns(tmp_path)
    live.poll()
    assert [(r["cell"], r["accuracy"]) for r in live.result_rows()] == [(CELL, 61.25)]
    torn_state = live.cell("s", "torn__x__seed0")
    assert torn_state.status == "failed", "a torn result is not a finished cell: the table leaves it out too"
    assert "not valid JSON" in torn_state.error and "re-run" in torn_state.error
    pixels, step, total = live.preview("s", CELL)
    assert pixels.shape == (36, 8, 8, 3) and pixels.dtype == np.uint8 and (step, total) == (5, 50)
    assert live.preview("s", CELL)[0] is pixels and not pixels.flags.writeable, "cached until the file changes"
    assert live.preview("s", "torn__x__seed0") is None and live.preview("s", "../etc") is None
    assert live.poll() == set()
    write_preview(RunDir(tmp_path, "s", CELL).preview_path, images, step=10, total=50)
    assert live.poll() == {("s", CELL)}, "a new preview is a change the detail view must redraw"
    assert live.preview("s", CELL)[1] == 10


def test_curves_are_capped_but_keep_their_whole_span_and_the_log_its_tail(tmp_path):
    events = [("pretrain", "progress", step, 500, {"loss": float(step)}, T0 + step) for step in range(1, 501)]
    append(tmp_path, CELL, started(), *events)
    live = LiveRuns(tmp_path, max_points=100)
    live.poll()
    state = live.cell("s", CELL)
    steps = [p.step for p in state.curves["pretrain"]]
    assert len(steps) <= 100 and steps[0] == 1 and steps[-1] == 500 and steps == sorted(steps)
    assert len(state.log) == LOG_LINES and state.log[-1].endswith("pretrain progress 500/500 loss=500")


def test_a_removed_cell_folder_is_reported_and_dropped(tmp_path):
    append(tmp_path, CELL, started())
    append(tmp_path, "keep__x__seed0", started())
    live = LiveRuns(tmp_path)
    live.poll()
    shutil.rmtree(tmp_path / "s" / CELL)
    assert live.poll() == {("s", CELL)}
    assert [s.cell for s in live.cells()] == ["keep__x__seed0"] and live.cell("s", CELL) is None


def test_render_event_is_one_readable_line():
    event = Event("s/c", "finetune", "progress", 3, 10, {"loss": 0.123456, "note": "a\nb"}, T0)
    assert render_event(event) == time.strftime("%H:%M:%S", time.localtime(T0)) + (
        " finetune progress 3/10 loss=0.1235 note=a b")


def test_watching_a_real_tiny_suite_run(tmp_path):
    from kdss_bench.config import load_suite
    from kdss_bench.runner.suite_runner import run_suite

    path = tmp_path / "suite.yaml"
    path.write_text(TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [lfw_faces]"))
    results = tmp_path / "results"
    live = LiveRuns(results)
    seen: dict[str, set] = {}

    def watch(event):  # the runner's own listener: poll the files as a dashboard would
        live.poll()
        for state in live.cells():
            seen.setdefault(state.cell, set()).add((state.status, state.stage))

    run_suite(load_suite(path), results_root=results, device="cpu", listener=watch)
    krr, reference = "krr_st__lfw_faces__seed0", "no_pretrain__lfw_faces__seed0"
    assert ("running", "distill") in seen[krr] and ("queued", None) in seen[reference]
    live.poll()
    assert not live.runner_alive("tiny")
    states = {state.cell: state for state in live.cells("tiny")}
    assert list(states) == [krr, reference]
    for name, state in states.items():
        result = json.loads((results / "tiny" / name / "result.json").read_text())
        assert state.status == "done" and state.accuracy == result["accuracy"]
        assert state.wall_time_s == result["wall_time_s"] and state.method == result["method"]
    assert "distill" in states[krr].curves and "finetune" in states[krr].curves
    assert len(live.result_rows()) == 2
    images, step, total = live.preview("tiny", krr)
    assert images.shape == (12, 16, 16, 3) and step == total == 4


def test_two_live_runs_of_one_suite_are_both_shown_and_a_cell_knows_where_it_runs(tmp_path):
    """A --cells re-run beside a running suite: neither hides the other, and each cell follows its own run."""
    t0 = time.time()
    first = write_runner(tmp_path, os.getpid(), started_at=t0, run_id="first",
                         cells=[{"cell": CELL}, {"cell": "dm__gtsrb43__seed0"}])
    write_runner(tmp_path, os.getpid(), started_at=t0 + 1, run_id="second", cells=[{"cell": "mtt__gtsrb43__seed0"}])
    append(tmp_path, CELL, ("cell", "start", 1, 2, {"run_id": "first"}, t0 + 2),
           ("distill", "start", None, None, {"executor": "local", "worker": "cpu1", "host": socket.gethostname()},
            t0 + 3))
    append(tmp_path, "mtt__gtsrb43__seed0", ("cell", "start", 1, 1, {"run_id": "second"}, t0 + 2),
           ("finetune", "start", None, None, {"executor": "inline", "worker": "main"}, t0 + 3))
    live = LiveRuns(tmp_path)
    live.poll()
    assert [run["run_id"] for run in live.live_runs("s")] == ["first", "second"]
    states = {state.cell: state for state in live.cells("s")}
    assert states[CELL].status == "running" and states[CELL].where == "local cpu1"
    assert states["mtt__gtsrb43__seed0"].status == "running" and states["mtt__gtsrb43__seed0"].where is None
    assert states["dm__gtsrb43__seed0"].status == "queued"
    SuiteFolder(tmp_path, "s").end_run(first, "cancelled")  # the first run ends; its running cell is now stale
    live.poll()
    assert live.cell("s", CELL).status == "stale" and live.cell("s", "mtt__gtsrb43__seed0").status == "running"
    assert [run["run_id"] for run in live.live_runs("s")] == ["second"]
