"""Trackers for the tracker tests (one that raises from every call, one that keeps what it is told), an
event maker, and the tiny suite run through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.store.event import Event
from kdss_bench.trackers.tracker import Tracker
from tests.conftest import TINY_SUITE

runner = CliRunner()
CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


class RaisingTracker(Tracker):
    """Raises from every call, as a tracker whose service refuses everything would."""

    name = "raising"
    fix = "nothing to fix, it is a test"

    def __init__(self, message: str = "the tracking service refused the call\nwith a second line") -> None:
        self.calls = 0
        self.message = message

    def _raise(self, *args, **kwargs) -> None:
        self.calls += 1
        raise RuntimeError(self.message)

    start_cell = log_scalars = log_text = log_images = end_cell = close = _raise


class RecordingTracker(Tracker):
    """Keeps what it is told."""

    name = "recording"

    def __init__(self) -> None:
        self.started: dict[str, dict] = {}
        self.ended: dict[str, str] = {}
        self.end_values: dict[str, dict] = {}
        self.scalars: list[tuple[str, str, dict, int]] = []
        self.texts: list[tuple[str, str, str, int]] = []
        self.images: list[tuple[str, str, tuple, int]] = []
        self.closed = 0

    def start_cell(self, cell, config):
        self.started[cell] = dict(config)

    def log_scalars(self, cell, group, scalars, step):
        self.scalars.append((cell, group, dict(scalars), step))

    def log_text(self, cell, tag, text, step):
        self.texts.append((cell, tag, text, step))

    def log_images(self, cell, tag, images, step):
        self.images.append((cell, tag, images.shape, step))

    def end_cell(self, cell, outcome, values):
        self.ended[cell] = outcome
        self.end_values[cell] = dict(values)

    def close(self):
        self.closed += 1


def event(cell: str, stage: str, kind: str, step=None, suite: str = "tiny", **values) -> Event:
    return Event(run=f"{suite}/{cell}", stage=stage, kind=kind, step=step, values=values, time=0.0)


def run_cli(folder: Path, *extra: str):
    """``kdss-bench run`` of the tiny suite into ``folder/results``: (results folder, CliRunner result)."""
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    results = folder / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu", *extra])
    return results, out


def accuracies(results: Path) -> dict[str, float]:
    return {cell: json.loads((results / "tiny" / cell / "result.json").read_text())["accuracy"] for cell in CELLS}


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]
