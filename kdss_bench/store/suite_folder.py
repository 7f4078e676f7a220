"""``results/<suite>/_suite/``: one record per run of the suite, plus launch logs and table exports.

Cell folders only appear once a cell starts, so a watcher (the dashboard, possibly in another
terminal) could neither list the queued cells nor tell a run still working from one that was
killed. Each ``kdss-bench run`` therefore writes its own ``runs/<run-id>.json``: the process
running it (pid, host), its executor, the cells it will run with their config hashes, and its
state (``running`` until it ends as ``finished``, ``failed`` or ``cancelled``). A record that
says ``running`` while its process is gone belongs to a run that died without cleaning up (see
``store/process_alive.py``). Two runs of one suite (a second ``--cells`` run from the dashboard,
say) keep two records, so neither hides the other.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kdss_bench.store.atomic_write import write_json_atomic
from kdss_bench.store.run_dir import check_folder_name

SUITE_FOLDER = "_suite"
RUNS_FOLDER = "runs"
RUNNING, FINISHED, FAILED, CANCELLED = "running", "finished", "failed", "cancelled"
RUN_STATES = (RUNNING, FINISHED, FAILED, CANCELLED)


class SuiteFolder:
    """Paths and file access for one suite's ``_suite`` folder; nothing is created until written."""

    def __init__(self, results_root: str | os.PathLike[str], suite: str) -> None:
        self.results_root = Path(results_root)
        self.suite = check_folder_name(suite, "suite name")
        self.path = self.results_root / suite / SUITE_FOLDER

    @property
    def runs_path(self) -> Path:
        return self.path / RUNS_FOLDER

    def run_path(self, run_id: str) -> Path:
        return self.runs_path / f"{check_folder_name(run_id, 'run id')}.json"

    def start_run(self, cells: Sequence[Mapping[str, Any]], *, suite_path: str | None, executor: str,
                  workers: int | None, started_at: float | None = None,
                  suite_cells: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """Writes this process's run record (state ``running``) and returns it; its ``run_id`` names it.

        ``cells`` are what this run runs (a ``--cells`` run: a few); ``suite_cells`` every cell of the
        suite, which a table of the suite expects (default: ``cells``)."""
        started_at = time.time() if started_at is None else started_at
        run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(started_at))}-{os.getpid()}"
        record = {"run_id": run_id, "suite": self.suite, "pid": os.getpid(), "host": socket.gethostname(),
                  "started_at": started_at, "suite_path": suite_path,
                  "results_root": str(self.results_root.resolve()), "executor": executor, "workers": workers,
                  "state": RUNNING, "ended_at": None, "cells": [dict(cell) for cell in cells],
                  "suite_cells": [dict(cell) for cell in (cells if suite_cells is None else suite_cells)]}
        self.runs_path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.run_path(run_id), record)
        return record

    def end_run(self, record: Mapping[str, Any], state: str, **counts: int) -> dict[str, Any]:
        """Rewrites the record with its final state (``finished``, ``failed`` or ``cancelled``)."""
        if state not in RUN_STATES or state == RUNNING:
            raise ValueError(f"a run ends as finished, failed or cancelled, not {state!r}")
        ended = {**record, "state": state, "ended_at": time.time(), "counts": dict(counts)}
        write_json_atomic(self.run_path(str(record["run_id"])), ended)
        return ended

    def runs(self) -> list[dict[str, Any]]:
        """Every readable run record, oldest first (unreadable files are skipped, never an error)."""
        try:
            paths = sorted(self.runs_path.glob("*.json"))
        except OSError:
            return []
        records = [read_json_object(path) for path in paths]
        valid = [r for r in records if r is not None and isinstance(r.get("run_id"), str)]
        return sorted(valid, key=lambda r: (_number(r.get("started_at")), r["run_id"]))

    def latest_run(self) -> dict[str, Any] | None:
        runs = self.runs()
        return runs[-1] if runs else None

    def planned_cells(self) -> list[dict[str, Any]]:
        """Every cell of the suite as its latest run planned it (what a complete table holds)."""
        latest = self.latest_run() or {}
        cells = latest.get("suite_cells", latest.get("cells")) or []
        return [dict(cell, suite=self.suite) for cell in cells if isinstance(cell, dict) and "cell" in cell]


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when the file is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
