"""kdss_bench.trackers.tracking_listener: the console hears every event first; each tracker gets one run per
cell that ran, named scalars, text, previews; a tracker that raises is one warning, then off."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import yaml

from kdss_bench.store.preview_file import write_preview
from kdss_bench.trackers import registry
from kdss_bench.trackers.registry import TrackerKind
from kdss_bench.trackers.tracking_listener import MAX_MESSAGE, PREVIEW_TAG, TrackingListener
from tests.trackers.stand_in_trackers import (
    CELLS,
    RaisingTracker,
    RecordingTracker,
    accuracies,
    event,
    run_cli,
    runner,
    warnings,
)


@pytest.fixture
def tiny_plan(write_suite):
    from kdss_bench.config import load_suite
    from kdss_bench.runner.plan import build_plan

    suite = load_suite(write_suite())
    return suite, build_plan(suite)


@pytest.fixture(scope="module")
def untracked(tmp_path_factory):
    results, out = run_cli(tmp_path_factory.mktemp("untracked"))
    assert out.exit_code == 0, out.output
    return results, out


# -- through a real run ------------------------------------------------------------------------

def test_a_raising_tracker_is_one_warning_and_changes_nothing(untracked, tmp_path, monkeypatch):
    raising, recording = RaisingTracker(), RecordingTracker()
    monkeypatch.setitem(registry.TRACKERS, "raising", TrackerKind("json", "raising", lambda setup: raising))
    monkeypatch.setitem(registry.TRACKERS, "recording", TrackerKind("json", "recording", lambda setup: recording))
    results, out = run_cli(tmp_path, "--track", "raising", "--track", "recording")
    assert out.exit_code == 0, out.output
    base_results, base = untracked
    assert out.stdout == base.stdout  # the table, character for character
    assert accuracies(results) == accuracies(base_results)
    new = [line for line in warnings(out.stderr) if line not in warnings(base.stderr)]
    assert len(new) == 1, out.stderr
    assert new[0].startswith("warning: --track raising: RuntimeError: the tracking service refused the call with")
    assert "nothing to fix, it is a test" in new[0] and "off for the rest of this run" in new[0]
    assert raising.calls == 2  # the first start_cell, then the close that turned it off
    # the other tracker went on: every cell, from start to end
    assert recording.ended == dict.fromkeys(CELLS, "finished") and recording.closed == 1
    assert recording.started[CELLS[0]]["config_hash"] == json.loads(
        (results / "tiny" / CELLS[0] / "result.json").read_text())["config_hash"]
    assert any(group == "distill" and "distill/loss" in values for _, group, values, _ in recording.scalars)
    assert recording.images and all(tag == PREVIEW_TAG for _, tag, _, _ in recording.images)


def test_a_rerun_of_a_finished_suite_opens_no_tracker_run(untracked, monkeypatch):
    from kdss_bench.cli import app

    recording = RecordingTracker()
    monkeypatch.setitem(registry.TRACKERS, "recording", TrackerKind("json", "recording", lambda setup: recording))
    results, _ = untracked
    suite = results.parent / "suite.yaml"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu", "--track", "recording"])
    assert out.exit_code == 0 and "already done 4" in out.stderr
    assert recording.started == {} and recording.ended == {} and recording.closed == 1


# -- the listener alone --------------------------------------------------------------------------

def test_events_become_named_scalars_with_one_step_axis_per_stage(tmp_path):
    recording, told = RecordingTracker(), []
    with TrackingListener(told.append, [recording], results_root=tmp_path) as listener:
        for item in [
            event("c", "cell", "start", 1),
            event("c", "distill", "start", key="abc"),
            event("c", "distill", "progress", 0, phase="pool_warm_start", model=1, of=2, steps=1),
            event("c", "distill", "progress", 1, loss=0.5, lr=0.01, note="text", flag=True),
            event("c", "distill", "progress", 2, loss=float("nan")),
            event("c", "mtt_experts", "progress", 3, phase="mtt_experts", expert=1, experts=2, loss=0.2),
            event("c", "distill", "end", wall_time_s=1.5),
            event("c", "cell", "end", 1, accuracy=50.0),
            event("other", "cell", "end", 2, cached=True),  # finished before: nothing ran
        ]:
            listener(item)
    assert len(told) == 9  # the console sees every event
    assert recording.scalars == [
        ("c", "distill", {"distill/loss": 0.5, "distill/lr": 0.01}, 1),
        ("c", "mtt_experts/expert1", {"mtt_experts/expert1/loss": 0.2}, 3),
        ("c", "distill", {"distill/wall_time_s": 1.5}, 1),  # no step: the stage's last one
        ("c", "cell", {"cell/accuracy": 50.0}, 1),
    ]
    assert recording.ended == {"c": "finished"} and list(recording.started) == ["c"]
    assert recording.texts == [("c", "distill/start", "key abc", 0)]
    assert recording.closed == 1, "leaving the with block closes the trackers"


def test_an_error_ends_the_cell_as_failed_or_cancelled_with_its_plain_values(tmp_path):
    recording = RecordingTracker()
    listener = TrackingListener(None, [recording], results_root=tmp_path)
    for cell, message in (("a", "RuntimeError: boom"), ("b", "cancelled")):
        listener(event(cell, "cell", "start", 1))
        listener(event(cell, "finetune", "progress", 4, loss=1.0))
        listener(event(cell, "finetune", "error", message=message, traceback="Traceback ..."))
        listener(event(cell, "cell", "error", message=message, traceback="Traceback ..."))
    assert recording.ended == {"a": "failed", "b": "cancelled"}
    assert recording.end_values["a"] == {"message": "RuntimeError: boom"}, "no traceback in a run's summary"
    assert ("a", "finetune/error", "RuntimeError: boom", 4) in recording.texts, "at the stage's last step"
    assert listener.cells == {}, "an ended cell is forgotten"


def test_a_cells_config_comes_from_the_plan_else_its_config_yaml_else_its_names(tmp_path, tiny_plan):
    suite, plan = tiny_plan
    recording = RecordingTracker()
    listener = TrackingListener(None, [recording], results_root=tmp_path)
    listener.on_plan(plan, {})
    listener(event(CELLS[0], "cell", "start", 1))
    assert recording.started[CELLS[0]] == plan.cell_config(CELLS[0])
    (tmp_path / "tiny" / "elsewhere").mkdir(parents=True)
    (tmp_path / "tiny" / "elsewhere" / "config.yaml").write_text(yaml.safe_dump({"budget": 7}))
    listener(event("elsewhere", "cell", "start", 1))
    listener(event("nowhere", "distill", "progress", 1, loss=1.0))  # its start was missed: opened now
    assert recording.started["elsewhere"] == {"budget": 7}
    assert recording.started["nowhere"] == {"suite": "tiny", "cell": "nowhere"}


def test_the_runners_notices_reach_the_console_and_scheduler_events_no_tracker(tmp_path, tiny_plan):
    _, plan = tiny_plan

    class Console:
        def __init__(self):
            self.heard = []

        def __call__(self, item):
            self.heard.append(("event", item.stage))

        def on_plan(self, plan, status, estimates=None):
            self.heard.append(("plan", len(status), estimates))

        def on_backend(self, description, slots=1):
            self.heard.append(("backend", description, slots))

        def on_stage(self, node, state, message=""):
            self.heard.append(("stage", node, state, message))

    console, recording = Console(), RecordingTracker()
    listener = TrackingListener(console, [recording], results_root=tmp_path)
    listener.on_plan(plan, {"x": "queued"}, {"eta": 1})
    listener.on_backend("inline", 1)
    listener.on_stage("teacher:k", "running", "now")
    listener(event("c", "scheduler", "progress", 1, loss=1.0))
    assert console.heard == [("plan", 1, {"eta": 1}), ("backend", "inline", 1),
                             ("stage", "teacher:k", "running", "now"), ("event", "scheduler")]
    assert listener.plan is plan and recording.started == {} and recording.scalars == []
    TrackingListener(None, [], results_root=tmp_path).on_plan(plan, {})  # no console: nothing to forward to


def test_a_new_preview_file_is_logged_once_at_its_step(tmp_path):
    recording = RecordingTracker()
    clock = [0.0]
    listener = TrackingListener(None, [recording], results_root=tmp_path, preview_every_s=1.0,
                                clock=lambda: clock[0])
    preview = tmp_path / "tiny" / "c" / "preview.npz"
    preview.parent.mkdir(parents=True)
    listener(event("c", "cell", "start", 1))
    listener(event("c", "distill", "start"))
    write_preview(preview, np.zeros((4, 3, 8, 8), np.float32), step=2, total=10)
    listener(event("c", "distill", "progress", 2, loss=1.0))  # within a second of the last look: not yet
    assert recording.images == []
    clock[0] = 1.5
    listener(event("c", "distill", "progress", 3, loss=1.0))
    listener(event("c", "distill", "end"))  # a stage end always looks; the file is unchanged
    assert recording.images == [("c", PREVIEW_TAG, (4, 8, 8, 3), 2)]
    write_preview(preview, np.ones((4, 3, 8, 8), np.float32), step=10, total=10)
    listener(event("c", "cell", "end", 1, accuracy=1.0))
    assert recording.images[-1] == ("c", PREVIEW_TAG, (4, 8, 8, 3), 10)
    listener.close()


def test_a_torn_preview_is_looked_at_again_and_logged_once_whole(tmp_path):
    recording = RecordingTracker()
    listener = TrackingListener(None, [recording], results_root=tmp_path, preview_every_s=0.0)
    preview = tmp_path / "tiny" / "c" / "preview.npz"
    preview.parent.mkdir(parents=True)
    preview.write_bytes(b"half a zip")
    listener(event("c", "distill", "start"))
    assert recording.images == []
    write_preview(preview, np.zeros((2, 3, 4, 4), np.float32), step=5, total=10)
    listener(event("c", "distill", "progress", 5, loss=1.0))
    listener(event("c", "distill", "progress", 6, loss=1.0))
    assert recording.images == [("c", PREVIEW_TAG, (2, 4, 4, 3), 5)]


def test_a_raising_tracker_is_warned_about_once_cut_short_and_the_others_go_on(tmp_path, caplog):
    raising, recording = RaisingTracker("x" * 1000), RecordingTracker()
    listener = TrackingListener(None, [raising, recording], results_root=tmp_path)
    with caplog.at_level(logging.WARNING, logger="kdss_bench.trackers.tracking_listener"):
        listener(event("c", "cell", "start", 1))
        listener(event("c", "distill", "progress", 1, loss=1.0))
        listener.close()
    assert listener.trackers == [recording] and raising.calls == 2  # start_cell, then its close
    message = listener.failed["raising"]
    assert [record.getMessage() for record in caplog.records] == [message]
    detail = message.removeprefix("--track raising: ").split("; nothing to fix")[0]
    assert len(detail) == MAX_MESSAGE and detail.endswith("...")
    assert recording.scalars == [("c", "distill", {"distill/loss": 1.0}, 1)] and recording.closed == 1
