"""``results/<suite>/_suite/``: what a suite run plans to do and which process is doing it.

Cell folders only appear once a cell starts, so a watcher (the dashboard, possibly in another
terminal) could neither list the queued cells nor tell a run still working from one that was
killed. ``plan.json`` lists the cells of the current run in order; ``runner.json`` names the
process running it and is removed when the run ends, so a ``runner.json`` whose process is gone
means the run died without cleaning up (see ``store/process_alive.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kdss_bench.store.atomic_write import write_json_atomic
from kdss_bench.store.run_dir import check_folder_name

SUITE_FOLDER = "_suite"
PLAN_FILE = "plan.json"
RUNNER_FILE = "runner.json"


class SuiteFolder:
    """Paths and file access for one suite's ``_suite`` folder; nothing is created until written."""

    def __init__(self, results_root: str | os.PathLike[str], suite: str) -> None:
        self.results_root = Path(results_root)
        self.suite = check_folder_name(suite, "suite name")
        self.path = self.results_root / suite / SUITE_FOLDER

    @property
    def plan_path(self) -> Path:
        return self.path / PLAN_FILE

    @property
    def runner_path(self) -> Path:
        return self.path / RUNNER_FILE

    def write_plan(self, cells: Sequence[Mapping[str, Any]], *, suite_path: str | None,
                   started_at: float) -> dict[str, Any]:
        """Writes ``plan.json``: ``{suite, suite_path, cells: [{cell, method, target, seed, ...}], started_at}``."""
        plan = {"suite": self.suite, "suite_path": suite_path, "cells": [dict(cell) for cell in cells],
                "started_at": started_at}
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.plan_path, plan)
        return plan

    def write_runner(self, *, suite_path: str | None, started_at: float) -> dict[str, Any]:
        """Writes ``runner.json`` for this process: ``{pid, host, started_at, suite_path, results_root}``."""
        runner = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": started_at,
                  "suite_path": suite_path, "results_root": str(self.results_root.resolve())}
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.runner_path, runner)
        return runner

    def remove_runner(self) -> None:
        """Removes ``runner.json`` if this process wrote it (a later run of the same suite may own it now)."""
        runner = self.read_runner()
        if runner is not None and runner.get("pid") not in (None, os.getpid()):
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.runner_path)

    def read_plan(self) -> dict[str, Any] | None:
        """The plan, or None if absent or unreadable (a reader must never fail on a watcher's poll)."""
        return read_json_object(self.plan_path)

    def read_runner(self) -> dict[str, Any] | None:
        return read_json_object(self.runner_path)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when the file is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
