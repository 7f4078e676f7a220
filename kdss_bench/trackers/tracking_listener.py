"""The listener ``kdss-bench run --track`` gives the runner: the console's, plus the trackers.

It passes every notice and event to the console listener first (unchanged), then turns each event
into tracker calls (see ``event_tags.py`` for the names): a cell's ``start`` opens its run in each
tracker with the cell's resolved config, its ``end`` or ``error`` closes it. A cell that was already
finished (its ``end`` comes without a ``start``) ran nothing and opens no run. Preview images are a
file, ``<cell>/preview.npz``, that distillation replaces while it runs (and an evaluation writes for
a cached set): it is looked at on each stage start and end, and on progress at most every
``preview_every_s`` seconds; each new one goes to the trackers as ``distill/preview`` at its step.

Events come from the run process only (an inline job calls the listener, the scheduler tails the
cells' ``events.jsonl`` for the other executors), so trackers work with every executor and live in
the process that runs ``kdss-bench run``.

A tracker that raises (its package missing at import, its service refusing, a full disk) is
reported once, as one warning line naming it and its fix, then left out for the rest of the run
(closed best effort). The console, the cells, the results and the table never see its error.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.store.event import Event
from kdss_bench.store.run_dir import PREVIEW_FILE
from kdss_bench.trackers.event_tags import event_group, event_scalars, event_text, outcome_of, plain_values
from kdss_bench.trackers.tracker import Tracker

log = logging.getLogger(__name__)

PREVIEW_TAG = "distill/preview"
PREVIEW_EVERY_S = 1.0
MAX_MESSAGE = 300


@dataclass
class _OpenCell:
    last_step: dict[str, int] = field(default_factory=dict)
    """Group -> the last step seen (what an event without a step is logged at)."""
    preview_stamp: tuple[int, int, int] | None = None
    preview_checked: float = float("-inf")


class TrackingListener:
    """Console listener + trackers. A context manager: leaving it closes the trackers."""

    def __init__(self, listener: Callable[[Event], None] | None, trackers: Iterable[Tracker], *,
                 results_root: str | os.PathLike[str], preview_every_s: float = PREVIEW_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.listener = listener
        self.trackers: list[Tracker] = list(trackers)
        """The trackers still on (one that raised is taken out)."""
        self.failed: dict[str, str] = {}
        """Tracker name -> the warning it got."""
        self.results_root = Path(results_root)
        self.preview_every_s = preview_every_s
        self.clock = clock
        self.plan = None
        self.cells: dict[tuple[str, str], _OpenCell] = {}
        self._lock = threading.RLock()

    def __enter__(self) -> TrackingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the runner's notices: the console's, and the plan for the cells' configs -------------------
    def on_plan(self, plan, status: dict[str, str], estimates: dict | None = None) -> None:
        self.plan = plan
        forward = getattr(self.listener, "on_plan", None)
        if forward is not None:
            forward(plan, status, estimates)

    def on_backend(self, description: str, slots: int = 1) -> None:
        forward = getattr(self.listener, "on_backend", None)
        if forward is not None:
            forward(description, slots)

    def on_stage(self, node, state: str, message: str = "") -> None:
        forward = getattr(self.listener, "on_stage", None)
        if forward is not None:
            forward(node, state, message)

    # -- events --------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if self.listener is not None:
            self.listener(event)
        if not self.trackers or event.stage == "scheduler":
            return
        with self._lock:
            self._track(event)

    def close(self) -> None:
        """Closes every tracker still on (a run cancelled midway leaves runs open: they end here)."""
        with self._lock:
            self._each(lambda tracker: tracker.close())
            self.cells.clear()

    def _track(self, event: Event) -> None:
        suite, _, cell = event.run.partition("/")
        key = (suite, cell)
        state = self.cells.get(key)
        if event.stage == "cell":
            if event.kind == "start":
                if state is None:
                    self._open(key)
                return
            if event.kind not in ("end", "error") or state is None:
                return  # an end without a start: the cell was finished before, nothing ran
            self._check_preview(key, state, force=True)
            if event.kind == "end":
                self._scalars(cell, state, "cell", event_scalars(event), event.step)
            outcome, values = outcome_of(event), plain_values(event.values)
            self._each(lambda tracker: tracker.end_cell(cell, outcome, values))
            del self.cells[key]
            return
        if state is None:  # its start came before this listener (or was lost): open the cell now
            state = self._open(key)
        text = event_text(event)
        if text is not None:
            step = _step(event.step, state.last_step.get(event.stage))
            self._each(lambda tracker: tracker.log_text(cell, text[0], text[1], step))
        scalars = event_scalars(event)
        if scalars:
            self._scalars(cell, state, event_group(event), scalars, event.step)
        self._check_preview(key, state, force=event.kind != "progress")

    def _open(self, key: tuple[str, str]) -> _OpenCell:
        state = self.cells[key] = _OpenCell()
        config = self._config(*key)
        self._each(lambda tracker: tracker.start_cell(key[1], config))
        return state

    def _config(self, suite: str, cell: str) -> Mapping[str, Any]:
        """The cell's resolved config: from the plan, else its ``config.yaml``, else just its names."""
        plan = self.plan
        if plan is not None and cell in getattr(plan, "cell_nodes", {}):
            try:
                return plan.cell_config(cell)
            except Exception:  # noqa: BLE001 - a config the plan cannot give is looked for on disk
                pass
        try:
            import yaml

            loaded = yaml.safe_load((self.results_root / suite / cell / "config.yaml").read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                return loaded
        except (OSError, ValueError):
            pass
        return {"suite": suite, "cell": cell}

    def _scalars(self, cell: str, state: _OpenCell, group: str, scalars: dict[str, float],
                 step: int | None) -> None:
        if not scalars:
            return
        if step is None:
            step = _step(None, state.last_step.get(group))
        state.last_step[group] = step
        self._each(lambda tracker: tracker.log_scalars(cell, group, scalars, step))

    def _check_preview(self, key: tuple[str, str], state: _OpenCell, *, force: bool) -> None:
        now = self.clock()
        if not force and now - state.preview_checked < self.preview_every_s:
            return
        state.preview_checked = now
        path = self.results_root / key[0] / key[1] / PREVIEW_FILE
        try:
            info = path.stat()
        except OSError:
            return
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp == state.preview_stamp:
            return
        state.preview_stamp = stamp
        from kdss_bench.store.preview_file import read_preview

        found = read_preview(path)
        if found is None:  # being replaced, or not a preview: the next look may find it whole
            state.preview_stamp = None
            return
        images, step, _ = found
        self._each(lambda tracker: tracker.log_images(key[1], PREVIEW_TAG, images, step))

    # -- one error per tracker, then it is off --------------------------------------------------
    def _each(self, call: Callable[[Tracker], None]) -> None:
        for tracker in list(self.trackers):
            try:
                call(tracker)
            except Exception as exc:  # noqa: BLE001 - a tracker never fails a cell or the run
                self._turn_off(tracker, exc)

    def _turn_off(self, tracker: Tracker, exc: Exception) -> None:
        self.trackers.remove(tracker)
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        if len(detail) > MAX_MESSAGE:
            detail = detail[:MAX_MESSAGE - 3] + "..."
        message = (f"--track {tracker.name}: {detail}; {tracker.fix}. It is off for the rest of this run "
                   "(cells and results are not affected)")
        self.failed[tracker.name] = message
        log.warning("%s", message)
        try:
            tracker.close()
        except Exception:  # noqa: BLE001 - it already failed once: nothing more is said about it
            pass


def _step(step: int | None, last: int | None) -> int:
    if step is not None:
        return int(step)
    return 0 if last is None else last
