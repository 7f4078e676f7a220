"""Dashboard test helpers: a tiny finished suite (run once), fixed data, and a Pilot runner."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from kdss_bench.store.live_runs import CellState
from kdss_bench.tui.app import DashboardApp

from ..conftest import TINY_SUITE
from .fixed_results import NOW, write_demo_results

TINY_CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
              "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


@pytest.fixture(scope="session")
def tiny_finished_once(tmp_path_factory) -> Path:
    """The tiny offline suite, run once in-process with the real runner: its results folder."""
    from kdss_bench.config import load_suite
    from kdss_bench.runner.suite_runner import run_suite

    folder = tmp_path_factory.mktemp("tiny")
    path = folder / "suite.yaml"
    path.write_text(TINY_SUITE)
    outcome = run_suite(load_suite(path), results_root=folder / "results", device="cpu")
    assert sorted(outcome.finished) == TINY_CELLS and not outcome.failed
    return folder / "results"


@pytest.fixture
def tiny_results(tiny_finished_once, tmp_path) -> Path:
    """A private copy of the tiny suite's results."""
    copy = tmp_path / "results"
    shutil.copytree(tiny_finished_once, copy)
    return copy


@pytest.fixture
def demo_results(tmp_path, monkeypatch) -> Iterator[Path]:
    """Fixed data under ``./results`` (relative, so the header's path is the same in every run)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    write_demo_results(Path("results"))
    yield Path("results")
    monkeypatch.undo()  # the original TZ (and directory) back before re-reading the time zone
    time.tzset()


def demo_app(results: Path, **kwargs) -> DashboardApp:
    return DashboardApp(results, clock=lambda: NOW, suites_dir=Path("no-suites-here"), **kwargs)


def run_app(app: DashboardApp, scenario: Callable[..., Awaitable[None]], size: tuple[int, int] = (100, 30)) -> None:
    """Runs ``scenario(app, pilot)`` headless (sync tests: no async plugin needed)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.polls_applied > 0)
            await scenario(app, pilot)

    try:
        asyncio.run(main())
    finally:  # a failed scenario must not leave a launched run training in the background
        for launch in app.launcher.launches():
            if launch.process.poll() is None:
                os.killpg(launch.pid, signal.SIGKILL)
                launch.process.wait(timeout=30)


def cell_state(status: str = "running", **values) -> CellState:
    """A cell's state as LiveRuns gives it (a running KRR-ST cell unless told otherwise)."""
    fields = dict(suite="demo", cell="krr_st__lfw_faces__seed0", method="krr_st", target="lfw_faces", seed=0,
                  status=status, stage="distill", step=30, total=120, eta_s=95.0, last_loss=0.1234, accuracy=None,
                  wall_time_s=None, error=None, traceback=None, started_at=1000.0, updated_at=1050.0)
    return CellState(**{**fields, **values})


def table_text(table) -> dict[str, dict[str, str]]:
    """Row key -> column key -> the cell's plain text, of a DataTable."""
    return {
        row.value: {column.value: str(table.get_cell(row, column)) for column in table.columns}
        for row in table.rows
    }


def results_of(root: Path) -> list[dict]:
    """Every ``result.json`` under ``root``."""
    import json

    return [json.loads(path.read_text()) for path in sorted(root.glob("*/*/result.json"))]


def notifications(app: DashboardApp) -> list[str]:
    """The messages of the notifications the app is showing."""
    return [notification.message for notification in app._notifications]


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> None:
    """Pauses the pilot until ``condition()`` holds; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(step)
    await pilot.pause()

