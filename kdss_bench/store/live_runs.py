"""What every run under a results folder is doing right now, read from the files the runner writes.

The dashboard must show runs started anywhere (its own subprocess, another terminal, another
machine on a shared disk), so it never talks to a runner: it reads the same ``events.jsonl``,
``result.json``, ``preview.npz`` and ``_suite/runs/<run-id>.json`` files. :meth:`LiveRuns.poll`
is called a few times a second, so it only stats files and reads the bytes appended since the
last poll; a half-written last event line waits until it is complete. Neither torch nor textual
is imported here, so the dashboard starts at once and can run ``poll`` in a worker thread while
its UI thread calls the readers (one lock guards the shared state; states are replaced, not
mutated, so a ``CellState`` the UI holds never changes under it).

Status of a cell: ``queued`` (planned, not started in the current run), ``running``, ``cached``
(planned, but its finished result is reused, so the run skips it), ``done``, ``failed``,
``cancelled`` (SIGINT/SIGTERM), ``stale`` (its events stopped mid-run and the runner process is
gone, e.g. killed with SIGKILL or a crash of the machine).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdss_bench.cell import Cell
from kdss_bench.errors import ConfigError
from kdss_bench.store.event import Event
from kdss_bench.store.event_log import EventTail
from kdss_bench.store.preview_file import read_preview
from kdss_bench.store.process_alive import runner_alive as process_alive
from kdss_bench.store.result_file import read_result
from kdss_bench.store.run_dir import (
    EVENTS_FILE,
    NOT_A_CELL_PREFIX,
    PREVIEW_FILE,
    RESULT_FILE,
    cell_folder_names,
    check_folder_name,
)
from kdss_bench.store.suite_folder import RUNNING, SuiteFolder

STATUSES = ("queued", "running", "cached", "done", "failed", "cancelled", "stale")
CANCEL_MESSAGES = ("cancelled", "interrupted")
"""``error`` messages of a cell stopped on purpose (``interrupted`` was written by older runners)."""
LOG_LINES = 200
RATE_WINDOW = 64
"""Progress points of the current stage that the ETA's rate is measured over."""
TEXT_LIMIT = 160

FileStamp = tuple[int, int, int]


@dataclass
class StagePoint:
    """One progress or metric event of a stage: its finite numeric values (loss, accuracy, lr, ...)."""

    step: int | None
    total: int | None
    time: float
    values: dict


@dataclass
class CellState:
    """A snapshot of one cell for display; rebuilt (never mutated) when its files change."""

    suite: str
    cell: str
    method: str | None
    target: str | None
    seed: int | None
    status: str
    """One of :data:`STATUSES`."""
    stage: str | None
    step: int | None
    total: int | None
    eta_s: float | None
    """Seconds left in the current stage as of ``updated_at`` (running cells only)."""
    last_loss: float | None
    accuracy: float | None
    """Top-1 test accuracy in percent (done and cached cells)."""
    wall_time_s: float | None
    """Finished, failed, cancelled and stale cells; for a running one show ``time.time() - started_at``."""
    error: str | None
    traceback: str | None
    started_at: float | None
    """Epoch seconds of the cell's latest start event (None if it never started)."""
    updated_at: float | None
    """Epoch seconds of its latest event (or of its result file if it has no events)."""
    where: str | None = None
    """Where its current stage runs: ``executor worker@host`` (running cells; None for an inline run)."""
    run_id: str | None = None
    """The run (``_suite/runs/<run_id>.json``) that last started it."""
    phase: str | None = None
    """What the current stage is doing before its steps count (``pool warm start 3/10``), else None."""
    curves: dict[str, list[StagePoint]] = field(default_factory=dict)
    """Stage -> progress points of the cell's latest run, oldest first, at most ``max_points`` each."""
    log: list[str] = field(default_factory=list)
    """The last :data:`LOG_LINES` events as text, oldest first."""


class LiveRuns:
    """Follows every suite and cell under ``results_root``; see the module docstring."""

    def __init__(self, results_root: Path, max_points: int = 2000) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be >= 2, got {max_points}")
        self.results_root = Path(results_root)
        self.max_points = int(max_points)
        self._poll_lock = threading.Lock()
        self._lock = threading.Lock()
        self._suite_watches: dict[str, _SuiteWatch] = {}
        self._cell_watches: dict[tuple[str, str], _CellWatch] = {}
        self._states: dict[tuple[str, str], CellState] = {}
        self._order: dict[str, list[str]] = {}
        self._alive: dict[str, bool] = {}
        self._runners: dict[str, dict[str, Any] | None] = {}
        self._live: dict[str, list[dict[str, Any]]] = {}
        self._planned: dict[str, list[dict[str, Any]]] = {}
        self._results: dict[tuple[str, str], dict[str, Any]] = {}
        self._previews: dict[tuple[str, str], tuple[FileStamp, tuple[np.ndarray, int, int]]] = {}

    # --- polling ---------------------------------------------------------------------------
    def poll(self) -> set[tuple[str, str]]:
        """Reads what changed on disk since the last poll; returns the (suite, cell) keys whose state,
        result or preview changed (including cells that disappeared: they are no longer in :meth:`cells`)."""
        with self._poll_lock:
            changed: set[tuple[str, str]] = set()
            states: dict[tuple[str, str], CellState] = {}
            order: dict[str, list[str]] = {}
            alive: dict[str, bool] = {}
            runners: dict[str, dict[str, Any] | None] = {}
            live: dict[str, list[dict[str, Any]]] = {}
            suite_plans: dict[str, list[dict[str, Any]]] = {}
            for suite in _suite_names(self.results_root):
                watch = self._suite_watches.get(suite)
                if watch is None:
                    watch = self._suite_watches[suite] = _SuiteWatch(self.results_root / suite)
                suite_changed = watch.refresh()
                names = list(watch.plan_cells)
                planned = set(names)
                names += [name for name in cell_folder_names(self.results_root / suite) if name not in planned]
                if not names and not watch.records:
                    continue
                order[suite], alive[suite], runners[suite] = names, watch.alive, watch.runner
                live[suite] = watch.live
                suite_plans[suite] = watch.suite_cells
                for name in names:
                    key = (suite, name)
                    cell_watch = self._cell_watches.get(key)
                    dirty = cell_watch is None
                    if cell_watch is None:
                        cell_watch = self._cell_watches[key] = _CellWatch(self.results_root / suite / name,
                                                                          self.max_points)
                    dirty = cell_watch.refresh() or dirty
                    previous = self._states.get(key)
                    if dirty or suite_changed or previous is None:
                        state = cell_watch.state(suite, name, watch)
                        if dirty or state != previous:
                            changed.add(key)
                        states[key] = state
                    else:
                        states[key] = previous
            for key in set(self._cell_watches) - set(states):
                del self._cell_watches[key]
                changed.add(key)
            for suite in set(self._suite_watches) - set(order):
                del self._suite_watches[suite]
            results = {key: watch.result for key, watch in self._cell_watches.items() if watch.result is not None}
            with self._lock:
                self._states, self._order, self._alive, self._runners = states, order, alive, runners
                self._live, self._planned = live, suite_plans
                self._results = results
            return changed

    # --- reading (any thread) ---------------------------------------------------------------
    def cells(self, suite: str | None = None) -> list[CellState]:
        """Cells in plan order, then unplanned cells by name; suites by name when ``suite`` is None."""
        with self._lock:
            suites = [suite] if suite is not None else sorted(self._order)
            return [self._states[(name, cell)] for name in suites for cell in self._order.get(name, [])]

    def cell(self, suite: str, cell: str) -> CellState | None:
        with self._lock:
            return self._states.get((suite, cell))

    def suites(self) -> list[str]:
        with self._lock:
            return sorted(self._order)

    def runner_alive(self, suite: str) -> bool:
        """Whether a run record of the suite names a live process (as of the last poll)."""
        with self._lock:
            return self._alive.get(suite, False)

    def runner_info(self, suite: str) -> dict[str, Any] | None:
        """The suite's latest live run record (pid, host, started_at, suite_path, executor, ...), or None."""
        with self._lock:
            runner = self._runners.get(suite)
            return dict(runner) if runner is not None else None

    def planned_cells(self, suite: str) -> list[dict[str, Any]]:
        """Every cell of the suite as its latest run planned it (what its complete table holds)."""
        with self._lock:
            return [dict(cell) for cell in self._planned.get(suite, [])]

    def live_runs(self, suite: str) -> list[dict[str, Any]]:
        """Every run record of the suite whose process is alive (several: a ``--cells`` re-run beside the first)."""
        with self._lock:
            return [dict(record) for record in self._live.get(suite, [])]

    def result_rows(self) -> list[dict]:
        """Every readable ``result.json`` (as a dict), by suite and then in the suite's run order (the plan's
        cells first), so a ResultsTable built from them lists the methods as the suite does."""
        with self._lock:
            position = {(suite, cell): i for suite, cells in self._order.items() for i, cell in enumerate(cells)}
            keys = sorted(self._results, key=lambda key: (key[0], position.get(key, len(position)), key[1]))
            return [dict(self._results[key]) for key in keys]

    def preview(self, suite: str, cell: str) -> tuple[np.ndarray, int, int] | None:
        """The cell's latest synthetic images (uint8 (k, R, R, 3), read-only), the step and total they were
        taken at; None if the cell has no readable preview. Re-read only when the file changes."""
        try:
            check_folder_name(suite)
            check_folder_name(cell)
        except ConfigError:
            return None
        path = self.results_root / suite / cell / PREVIEW_FILE
        stamp = _stamp(path)
        if stamp is None:
            return None
        with self._lock:
            cached = self._previews.get((suite, cell))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        loaded = read_preview(path)
        if loaded is not None:
            loaded[0].flags.writeable = False  # shared by every caller until the file changes
            with self._lock:
                self._previews[(suite, cell)] = (stamp, loaded)
        return loaded


class _SuiteWatch:
    """The run records of one suite (``_suite/runs/*.json``), re-read only when a file changes."""

    def __init__(self, folder: Path) -> None:
        self.suite_folder = SuiteFolder(folder.parent, folder.name)
        self.stamps: dict[str, FileStamp] = {}
        self.records: list[dict[str, Any]] = []
        self.live: list[dict[str, Any]] = []
        self.live_ids: frozenset[str] = frozenset()
        self.plan_cells: dict[str, dict[str, Any]] = {}
        self.runner: dict[str, Any] | None = None
        self.alive = False
        self.suite_cells: list[dict[str, Any]] = []
        """The suite's cells as its latest run planned them."""

    def refresh(self) -> bool:
        """True when a run record appeared, changed or went, or a run's process died."""
        changed = False
        stamps = {}
        try:
            entries = list(os.scandir(self.suite_folder.runs_path))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        for entry in entries:
            if entry.name.endswith(".json"):
                stamp = _stamp(Path(entry.path))
                if stamp is not None:
                    stamps[entry.name] = stamp
        if stamps != self.stamps:
            self.stamps, changed = stamps, True
            self.records = self.suite_folder.runs()
            self.suite_cells = self.suite_folder.planned_cells()
        live = [r for r in self.records if r.get("state") == RUNNING and process_alive(r)]
        live_ids = frozenset(str(r["run_id"]) for r in live)
        if changed or live_ids != self.live_ids:
            changed = True
            self.live, self.live_ids, self.alive = live, live_ids, bool(live)
            self.runner = live[-1] if live else None
            shown = live or self.records[-1:]
            self.plan_cells = {}
            for record in shown:
                for name, entry in _planned_cells(record).items():
                    self.plan_cells[name] = {**entry, "started_at": record.get("started_at"),
                                             "run_id": record.get("run_id")}
        return changed

    def run_alive(self, run_id: str | None) -> bool:
        """Whether the run that started a cell still lives (any live run when the cell names none)."""
        return run_id in self.live_ids if run_id else self.alive


class _CellWatch:
    """One cell folder: follows its event log and result; builds its :class:`CellState`."""

    def __init__(self, folder: Path, max_points: int) -> None:
        self.events_path = folder / EVENTS_FILE
        self.result_path = folder / RESULT_FILE
        self.preview_path = folder / PREVIEW_FILE
        self.max_points = max_points
        self.events_stamp: FileStamp | None = None
        self.result_stamp: FileStamp | None = None
        self.preview_stamp: FileStamp | None = None
        self.result: dict[str, Any] | None = None
        self.result_error: str | None = None
        """Why ``result.json`` exists but cannot be read (a torn or hand-edited file), else None."""
        self._reset_log()

    def _reset_log(self) -> None:
        self.tail = EventTail(self.events_path)
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self.updated_at: float | None = None
        self.info: dict[str, Any] = {}
        self._reset_run()

    def _reset_run(self) -> None:
        """A cell start event: everything below describes the cell's latest run only."""
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.outcome: str | None = None  # done | failed | cancelled once the cell ended
        self.end_values: dict[str, Any] = {}
        self.stage: str | None = None
        self.step: int | None = None
        self.total: int | None = None
        self.rate_points: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW)
        self.curves: dict[str, list[StagePoint]] = {}
        self.last_loss: float | None = None
        self.error: str | None = None
        self.traceback: str | None = None
        self.where: str | None = None
        self.run_id: str | None = None
        self.phase: str | None = None

    # --- files -----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Reads new events and a new result; True if anything (preview included) changed."""
        changed = False
        stamp = _stamp(self.events_path)
        if stamp != self.events_stamp:
            replaced = self.events_stamp is not None and (stamp is None or stamp[2] != self.events_stamp[2])
            self.events_stamp = stamp
            if replaced:
                self._reset_log()
                changed = True
            events = self.tail.poll()
            if self.tail.restarted and not replaced:
                self._reset_log()
                events = self.tail.poll()  # the fresh tail reads the file from its start
            for event in events:
                self._apply(event)
            changed = changed or bool(events)
        stamp = _stamp(self.result_path)
        if stamp != self.result_stamp:
            self.result_stamp, changed = stamp, True
            self.result, self.result_error = read_result(self.result_path) if stamp else (None, None)
        stamp = _stamp(self.preview_path)
        if stamp != self.preview_stamp:
            self.preview_stamp, changed = stamp, True
        return changed

    def _apply(self, event: Event) -> None:
        values = dict(event.values)
        self.log.append(render_event(event))
        self.updated_at = event.time
        if event.stage == "cell":
            self._apply_cell(event, values)
            return
        if event.kind == "start" or event.stage != self.stage:
            self.stage, self.step, self.total = event.stage, None, None
            self.rate_points.clear()
            self.phase = None
        if event.kind == "progress":
            self.phase = phase_text(values)
        if event.kind == "start":
            self.where = _where(values)
        if event.step is not None:
            self.step = event.step
        if event.total is not None:
            self.total = event.total
        if event.kind in ("progress", "metric"):
            numbers = {key: float(value) for key, value in values.items() if _is_number(value)}
            if "loss" in numbers:
                self.last_loss = numbers["loss"]
            finite = {key: value for key, value in numbers.items() if math.isfinite(value)}
            if finite:
                self._add_point(event.stage, StagePoint(event.step, event.total, event.time, finite))
            if event.kind == "progress" and event.step is not None:
                self.rate_points.append((event.time, event.step))
        elif event.kind == "end" and self.total is not None:
            self.step = self.total
        elif event.kind == "error":
            self.error = _text(values.get("message", ""))
            self.traceback = values.get("traceback") if isinstance(values.get("traceback"), str) else None

    def _apply_cell(self, event: Event, values: dict[str, Any]) -> None:
        if event.kind == "start":
            self._reset_run()
            self.started_at = event.time
            self.run_id = values.get("run_id") if isinstance(values.get("run_id"), str) else None
            self.info = {key: values[key] for key in ("method", "target", "seed") if key in values}
        elif event.kind == "end":
            self.outcome, self.ended_at, self.end_values = "done", event.time, values
        elif event.kind == "error":
            message = _text(values.get("message", ""))
            self.outcome = "cancelled" if message in CANCEL_MESSAGES else "failed"
            self.ended_at, self.error = event.time, message
            self.traceback = values.get("traceback") if isinstance(values.get("traceback"), str) else None

    def _add_point(self, stage: str, point: StagePoint) -> None:
        """Appends; past ``max_points`` every other point is dropped, so the curve keeps its whole span."""
        points = self.curves.setdefault(stage, [])
        points.append(point)
        if len(points) > self.max_points:
            kept = points[::2]
            if kept[-1] is not points[-1]:
                kept.append(points[-1])
            self.curves[stage] = kept

    # --- the snapshot ----------------------------------------------------------------------
    def state(self, suite: str, cell: str, watch: _SuiteWatch) -> CellState:
        planned = watch.plan_cells.get(cell)
        result = self.result
        status = self._status(result, watch.run_alive(self.run_id))
        if planned is not None and not self._started_in(planned):
            # in the current plan, not started since it was written: skipped if finished with this config
            reusable = result is not None and planned.get("config_hash") in (None, result.get("config_hash"))
            if reusable:
                status = "cached"
            elif watch.run_alive(planned.get("run_id")) or status in ("done", "queued"):
                status = "queued"
        info = self._identity(cell, planned, result)
        finished = status in ("done", "cached")
        ended = status in ("failed", "cancelled", "stale")
        updated = self.updated_at if self.updated_at is not None else _mtime(self.result_path)
        accuracy = wall = None
        if finished:
            source = result if result is not None else self.end_values
            accuracy, wall = _number(source.get("accuracy")), _number(source.get("wall_time_s"))
        elif ended and self.started_at is not None:
            wall = max(0.0, (self.ended_at or self.updated_at or self.started_at) - self.started_at)
        active = status not in ("queued", "cached")
        return CellState(
            suite=suite, cell=cell, method=info.get("method"), target=info.get("target"), seed=info.get("seed"),
            status=status, stage=self.stage if active else None, step=self.step if active else None,
            total=self.total if active else None, eta_s=self._eta() if status == "running" else None,
            last_loss=self.last_loss, accuracy=accuracy, wall_time_s=wall,
            error=self._error_text(status),
            traceback=self.traceback if status in ("failed", "cancelled") else None,
            started_at=self.started_at, updated_at=updated,
            where=self.where if status == "running" else None, run_id=self.run_id,
            phase=self.phase if status == "running" else None,
            curves={stage: list(points) for stage, points in self.curves.items()}, log=list(self.log))

    def _started_in(self, planned: dict[str, Any]) -> bool:
        """Whether the cell's latest start belongs to the run that planned it (by run id, else by time)."""
        if self.started_at is None:
            return False
        if self.run_id is not None and isinstance(planned.get("run_id"), str):
            return self.run_id == planned["run_id"]
        plan_started = _number(planned.get("started_at"))
        return plan_started is None or self.started_at >= plan_started

    def _status(self, result: dict[str, Any] | None, alive: bool) -> str:
        """A cell is done only with a readable result: the table (which reads the results) must agree."""
        if self.started_at is not None:
            if self.outcome == "done" and result is None:
                return "failed"
            if self.outcome is not None:
                return self.outcome
            return "running" if alive else "stale"
        if result is None and self.result_error is not None:
            return "failed"
        return "done" if result is not None else "queued"

    def _error_text(self, status: str) -> str | None:
        if status == "failed" and self.result is None and (self.outcome in ("done", None)):
            why = self.result_error or "result.json is missing"
            return f"{why}; the table leaves the cell out: re-run it"
        return self.error if status in ("failed", "cancelled") else None

    def _identity(self, cell: str, planned: dict[str, Any] | None, result: dict[str, Any] | None) -> dict:
        """method / target / seed from the start event, else the plan, the result or the cell id."""
        parsed = _parse_cell_id(cell)
        info: dict[str, Any] = {}
        for key in ("method", "target", "seed"):
            for source in (self.info, planned or {}, result or {}, parsed):
                value = source.get(key)
                if (key == "seed" and isinstance(value, int) and not isinstance(value, bool)) or (
                        key != "seed" and isinstance(value, str)):
                    info[key] = value
                    break
        return info

    def _eta(self) -> float | None:
        """Seconds left in the current stage at the rate of its recent progress events."""
        if self.total is None or self.step is None or len(self.rate_points) < 2:
            return None
        points = list(self.rate_points)
        lowest = min(step for _, step in points)
        anchor = [point for point in points if point[1] == lowest][-1]  # after a warm-up phase at one step
        last = points[-1]
        if last[1] <= anchor[1] or last[0] <= anchor[0]:
            return None
        rate = (last[1] - anchor[1]) / (last[0] - anchor[0])
        return max(0.0, (self.total - last[1]) / rate)


PHASE_NAMES = {"pool_warm_start": "pool warm start", "teacher_targets": "teacher targets",
               "mtt_experts": "expert trajectories", "mkdt_experts": "KD expert trajectories",
               "mkdt_teacher_targets": "teacher targets"}


def phase_text(values: dict[str, Any]) -> str | None:
    """``pool warm start: model 3 of 10`` from a progress event's ``phase`` and counters, else None."""
    phase = values.get("phase")
    if not isinstance(phase, str) or not phase:
        return None
    text = PHASE_NAMES.get(phase, phase.replace("_", " "))
    for count, total, noun in (("model", "of", "model"), ("images", "of", "images"), ("expert", "experts", "expert")):
        done, of = values.get(count), values.get(total)
        if _is_number(done) and _is_number(of):
            shown = int(done) + 1 if count == "expert" else int(done)
            text += f": {noun} {shown} of {int(of)}"
            break
    return text


def render_event(event: Event) -> str:
    """One log line: ``12:03:04 distill progress 40/300 loss=0.1234 lr=0.001``."""
    clock = time.strftime("%H:%M:%S", time.localtime(event.time))
    where = ""
    if event.step is not None:
        where = f" {event.step}/{event.total}" if event.total is not None else f" {event.step}"
    values = " ".join(f"{key}={_format_value(value)}" for key, value in event.values.items() if key != "traceback")
    return f"{clock} {event.stage} {event.kind}{where} {values}".rstrip()


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return _text(value)


def _text(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _parse_cell_id(cell: str) -> dict[str, Any]:
    """``krr_st__gtsrb43__seed0`` -> method, target, seed (the one codec of ids, ``kdss_bench.cell``)."""
    parsed = Cell.parse(cell)
    return {} if parsed is None else {"method": parsed.method, "target": parsed.target, "seed": parsed.seed}


def _where(values: dict[str, Any]) -> str | None:
    """``local cpu1`` / ``ray ray-1a2b3c4d@node7``: a stage start's executor and worker (None inline)."""
    executor, worker, host = values.get("executor"), values.get("worker"), values.get("host")
    if not isinstance(executor, str) or executor == "inline" or not isinstance(worker, str):
        return None
    import socket

    on = f"@{host}" if isinstance(host, str) and host != socket.gethostname() else ""
    return f"{executor} {worker}{on}"


def _planned_cells(plan: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A run record's cells by id, in order; entries that are not usable cell ids are ignored."""
    cells: dict[str, dict[str, Any]] = {}
    for entry in (plan or {}).get("cells") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("cell"), str):
            continue
        name = entry["cell"]
        try:
            check_folder_name(name)
        except ConfigError:
            continue
        if not name.startswith(NOT_A_CELL_PREFIX):
            cells.setdefault(name, entry)
    return cells


def _suite_names(root: Path) -> list[str]:
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            names.append(check_folder_name(entry.name))
        except ConfigError:
            continue
    return sorted(names)


def _stamp(path: Path) -> FileStamp | None:
    """Identifies one version of a file (an atomic replace gets a new inode even within one mtime tick)."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _mtime(path: Path) -> float | None:
    stamp = _stamp(path)
    return stamp[0] / 1e9 if stamp else None
