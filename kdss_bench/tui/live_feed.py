"""One poll of everything the dashboard shows, done off the UI thread and handed over as a copy.

The dashboard's tick runs :meth:`LiveFeed.poll` in a thread worker. It reads only what changed
(``LiveRuns`` follows each ``events.jsonl`` by offset), reaps finished launches, and returns a
:class:`LiveUpdate` with the changed cells' states (``LiveRuns`` replaces a state rather than
mutating it, so the UI thread may keep them). A lock keeps two polls from overlapping; a tick
that finds a poll still running just skips.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.store.live_runs import CellState, LiveRuns
from kdss_bench.store.run_dir import PREVIEW_FILE
from kdss_bench.tui.run_launcher import Launch, RunLauncher

CellKey = tuple[str, str]
"""(suite, cell)."""


@dataclass(frozen=True)
class Preview:
    images: Any
    """uint8 (k, R, R, 3)."""
    step: int
    total: int


@dataclass(frozen=True)
class LiveUpdate:
    """What one poll found; ``cells`` holds copies of the changed cells only."""

    changed: frozenset[CellKey]
    order: tuple[CellKey, ...]
    """Every known cell, in display order: suites with a live runner first, then by name; plan order within a suite."""
    cells: dict[CellKey, CellState]
    """The new states of the changed cells."""
    alive: dict[str, bool]
    result_rows: list[dict] | None
    runs: dict[str, list[str]] = field(default_factory=dict)
    """Suite -> one short description (``local, pid 4242``) per live run of it."""
    planned: dict[str, list[dict]] = field(default_factory=dict)
    """Suite -> its cells as its latest run planned them (the results table marks the missing ones)."""
    """Every finished ``result.json``, or None when they did not change since the last poll."""
    ended: list[Launch] = field(default_factory=list)
    """Launches that exited since the last poll."""
    preview: tuple[CellKey, Preview | None] | None = None
    """The watched cell's preview, when it is new (or newly unreadable: None)."""
    problems: list[str] = field(default_factory=list)
    """Reading errors worth showing (the poll itself never raises)."""

    @property
    def empty(self) -> bool:
        return (not self.changed and self.result_rows is None and not self.ended and self.preview is None
                and not self.problems)


class LiveFeed:
    """Owns the ``LiveRuns`` reader and the launcher's reaping; call :meth:`poll` from one worker at a time."""

    def __init__(self, results_root: Path, launcher: RunLauncher, live: LiveRuns | None = None) -> None:
        self.results_root = Path(results_root)
        self.live = live if live is not None else LiveRuns(self.results_root)
        self.launcher = launcher
        self._lock = threading.Lock()
        self._results_signature: tuple | None = None
        self._preview_stamp: tuple[CellKey, tuple[int, int, int] | None] | None = None

    def poll(self, watched: CellKey | None = None) -> LiveUpdate | None:
        """Reads what changed; None when another poll is still running (the tick simply skips)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._poll(watched)
        finally:
            self._lock.release()

    def _poll(self, watched: CellKey | None) -> LiveUpdate:
        problems: list[str] = []
        ended = self.launcher.poll()
        try:
            changed = set(self.live.poll())
        except Exception as exc:  # noqa: BLE001 - a bad file must not stop the dashboard's polling
            problems.append(f"reading {self.results_root} failed: {type(exc).__name__}: {exc}")
            changed = set()
        cells: dict[CellKey, CellState] = {}
        order: list[CellKey] = []
        for state in self.live.cells():
            key = (state.suite, state.cell)
            order.append(key)
            if key in changed:
                cells[key] = state
        alive = {suite: self.live.runner_alive(suite) for suite in self.live.suites()}
        # suites being run come first: opened during a run, the screen shows what is happening
        order.sort(key=lambda key: not alive.get(key[0], False))
        runs = {suite: [f"{run.get('executor') or 'inline'}, pid {run.get('pid')}"
                        for run in self.live.live_runs(suite)] for suite in self.live.suites()}
        return LiveUpdate(
            changed=frozenset(cells), order=tuple(order), cells=cells, alive=alive, runs=runs,
            planned={suite: self.live.planned_cells(suite) for suite in self.live.suites()},
            result_rows=self._new_result_rows(), ended=ended,
            preview=self._new_preview(watched, problems), problems=problems,
        )

    def _new_result_rows(self) -> list[dict] | None:
        rows = self.live.result_rows()
        signature = tuple(sorted((str(row.get("suite")), str(row.get("cell")), str(row.get("finished_at")),
                                  str(row.get("config_hash"))) for row in rows))
        if signature == self._results_signature:
            return None
        self._results_signature = signature
        return rows

    def _new_preview(self, watched: CellKey | None, problems: list[str]) -> tuple[CellKey, Preview | None] | None:
        if watched is None:
            self._preview_stamp = None
            return None
        path = self.results_root / watched[0] / watched[1] / PREVIEW_FILE
        try:
            stat = path.stat()
            file_stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            file_stamp = None
        stamp = (watched, file_stamp)
        if stamp == self._preview_stamp:
            return None
        self._preview_stamp = stamp
        if file_stamp is None:
            return watched, None
        try:
            found = self.live.preview(*watched)
        except Exception as exc:  # noqa: BLE001 - a torn or foreign file: say so, keep going
            problems.append(f"preview of {watched[1]} unreadable: {type(exc).__name__}: {exc}")
            return watched, None
        if found is None:
            return watched, None
        images, step, total = found
        return watched, Preview(images, int(step), int(total))

    def forget_preview(self) -> None:
        """Makes the next poll re-send the watched cell's preview (a detail screen just opened)."""
        self._preview_stamp = None

