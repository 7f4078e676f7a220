"""Trackers never change a run: a tracker that raises is one warning line, then off; bad --track is exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.store.event import Event
from kdss_bench.trackers import registry
from kdss_bench.trackers.registry import TrackerKind
from kdss_bench.trackers.tracker import Tracker
from kdss_bench.trackers.tracking_listener import TrackingListener

from ..conftest import TINY_SUITE

runner = CliRunner()
CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


class RaisingTracker(Tracker):
    """Raises from every call, as a tracker whose service refuses everything would."""

    name = "raising"
    fix = "nothing to fix, it is a test"

    def __init__(self) -> None:
        self.calls = 0

    def _raise(self, *args, **kwargs) -> None:
        self.calls += 1
        raise RuntimeError("the tracking service refused the call\nwith a second line")

    start_cell = log_scalars = log_text = log_images = end_cell = close = _raise


class RecordingTracker(Tracker):
    """Keeps what it is told."""

    name = "recording"

    def __init__(self) -> None:
        self.started: dict[str, dict] = {}
        self.ended: dict[str, str] = {}
        self.scalars: list[tuple[str, str, dict, int]] = []
        self.images: list[tuple[str, str, tuple, int]] = []
        self.closed = 0

    def start_cell(self, cell, config):
        self.started[cell] = dict(config)

    def log_scalars(self, cell, group, scalars, step):
        self.scalars.append((cell, group, dict(scalars), step))

    def log_images(self, cell, tag, images, step):
        self.images.append((cell, tag, images.shape, step))

    def end_cell(self, cell, outcome, values):
        self.ended[cell] = outcome

    def close(self):
        self.closed += 1


def run_cli(folder: Path, *extra: str):
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    results = folder / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu", *extra])
    return results, out


def accuracies(results: Path) -> dict[str, float]:
    return {cell: json.loads((results / "tiny" / cell / "result.json").read_text())["accuracy"] for cell in CELLS}


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


@pytest.fixture(scope="module")
def untracked(tmp_path_factory):
    results, out = run_cli(tmp_path_factory.mktemp("untracked"))
    assert out.exit_code == 0, out.output
    return results, out


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
    assert recording.images and all(tag == "distill/preview" for _, tag, _, _ in recording.images)


def test_a_rerun_of_a_finished_suite_opens_no_tracker_run(untracked, monkeypatch):
    recording = RecordingTracker()
    monkeypatch.setitem(registry.TRACKERS, "recording", TrackerKind("json", "recording", lambda setup: recording))
    results, _ = untracked
    suite = results.parent / "suite.yaml"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu", "--track", "recording"])
    assert out.exit_code == 0 and "already done 4" in out.stderr
    assert recording.started == {} and recording.ended == {} and recording.closed == 1


def test_an_unknown_tracker_is_one_line_and_exit_2(tmp_path):
    results, out = run_cli(tmp_path, "--track", "bogus")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.output
    assert out.stderr.startswith("error: --track bogus: not a tracker; use tensorboard or wandb")
    assert not results.exists()


@pytest.mark.parametrize("name", ["tensorboard", "wandb"])
def test_a_missing_package_is_one_line_naming_the_extra_before_the_run(tmp_path, monkeypatch, name):
    monkeypatch.setitem(sys.modules, name, None)  # `import name` fails as if it were not installed
    results, out = run_cli(tmp_path, "--track", name)
    assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.output
    assert out.stderr == (f"error: --track {name}: the {name} package is not installed; "
                          f"pip install 'kdss-bench[{name}]'\n")
    assert not results.exists()


def test_wandb_options_without_track_wandb_are_an_error(tmp_path):
    results, out = run_cli(tmp_path, "--wandb-project", "p")
    assert out.exit_code == 2 and "add --track wandb" in out.stderr and not results.exists()


# -- the listener alone -------------------------------------------------------------------------

def event(cell: str, stage: str, kind: str, step=None, **values) -> Event:
    return Event(run=f"tiny/{cell}", stage=stage, kind=kind, step=step, values=values, time=0.0)


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


def test_a_new_preview_file_is_logged_once_at_its_step(tmp_path):
    import numpy as np

    from kdss_bench.store.preview_file import write_preview

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
    assert recording.images == [("c", "distill/preview", (4, 8, 8, 3), 2)]
    write_preview(preview, np.ones((4, 3, 8, 8), np.float32), step=10, total=10)
    listener(event("c", "cell", "end", 1, accuracy=1.0))
    assert recording.images[-1] == ("c", "distill/preview", (4, 8, 8, 3), 10)
    listener.close()
