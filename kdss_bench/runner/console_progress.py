"""Progress of ``kdss-bench run`` on stderr: the plan's stages and cells, and a bar per running stage.

It consumes the same events that go to each cell's ``events.jsonl`` (directly from an inline
job, by tailing the files for the other executors), plus the scheduler's stage notices, so what
the console shows is what the dashboard and the store see. The suite's ETA adds up what each
stage left is expected to take: a running stage's remaining steps at its measured rate, a
waiting one's time from earlier runs of a stage of the same kind and size (the results index),
or from one that finished earlier in this run; stages nothing is known about yet are counted
and named as such rather than guessed. On a terminal it draws rich bars; without one (a log
file, CI, a SLURM job's output) it prints one plain line per stage start and end and a status
line every ``interval_s`` seconds, even while a stage reports nothing, so a log shows life.
Stdout stays free for machine-readable output.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from kdss_bench.store.event import Event
from kdss_bench.store.live_runs import phase_text

PLAIN_INTERVAL_S = 30.0
DONE_STATES = ("built", "cached", "failed", "skipped")


@dataclass
class _Running:
    label: str
    task: TaskID | None
    started: float
    step: int | None = None
    total: int | None = None
    info: str = ""
    first_step: tuple[float, int] | None = None
    """(time, step) of the first progress event with a step: the rate is measured from there (after a warm-up)."""
    node_id: str | None = None


@dataclass
class _Waiting:
    """A plan node not finished yet: what it is, and what is known about how long it takes."""

    kind: str
    size_key: str
    estimate: float | None
    owner: str


class _EtaColumn(ProgressColumn):
    """The suite's ETA (computed here) on its bar; rich's own rate-based estimate on a stage's bar."""

    def __init__(self) -> None:
        super().__init__()
        self.fallback = TimeRemainingColumn()

    def render(self, task) -> Text:
        if "eta" in task.fields:
            return Text(task.fields["eta"], style="progress.remaining")
        return self.fallback.render(task)


class ConsoleProgress:
    def __init__(self, console: Console | None = None, *, interval_s: float = PLAIN_INTERVAL_S,
                 clock=time.monotonic) -> None:
        self.console = console or Console(stderr=True)
        self.plain = not self.console.is_terminal
        self.interval_s = interval_s
        self.clock = clock
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), _EtaColumn(),
            console=self.console, disable=self.plain)
        self.suite_task: TaskID | None = None
        self.stages_total = 0
        self.stages_done = 0
        self.cells_total = 0
        self.cells_done = 0
        self.slots = 1
        self.running: dict[tuple[str, str], _Running] = {}
        self.waiting: dict[str, _Waiting] = {}
        """Node id -> a stage of the plan not finished yet."""
        self.learned: dict[tuple[str, str], float] = {}
        """(kind, size key) -> wall time of a stage of that kind and size that finished in this run."""
        self.node_started: dict[str, float] = {}
        self.node_of_key: dict[str, str] = {}
        """A stage start event's ``key`` -> the plan node it builds."""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> ConsoleProgress:
        self.progress.start()
        if self.plain:
            self._ticker = threading.Thread(target=self._tick_forever, name="kdss-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        self.progress.stop()

    # -- the scheduler's notices -------------------------------------------------------------
    def on_plan(self, plan, status: dict[str, str], estimates: dict | None = None) -> None:
        from kdss_bench.runner.stage_job import size_key

        with self._lock:
            to_run = [(node_id, node) for node_id, node in plan.nodes.items() if status[node_id] != "cached"]
            kinds: dict[str, int] = {}
            for node_id, node in to_run:
                kinds[node.kind] = kinds.get(node.kind, 0) + 1
                estimate = (estimates or {}).get(node_id)
                self.waiting[node_id] = _Waiting(node.kind, size_key(node.size),
                                                 None if estimate is None else estimate.seconds, node.owner)
                self.node_of_key[node.key] = node_id
            self.stages_total = len(to_run)
            self.cells_total = len(plan.cells)
            cached = len(plan.nodes) - len(to_run)
            what = ", ".join(f"{count} {kind}" for kind, count in kinds.items()) or "nothing"
            self._print(f"plan: {len(to_run)} stages to run ({what}), {cached} cached; `kdss-bench plan` shows them")
            self.suite_task = self.progress.add_task("stages", total=max(1, self.stages_total), info=self._counts(),
                                                     eta=self.eta_text())

    def on_backend(self, description: str, slots: int = 1) -> None:
        self.slots = max(1, slots)
        self._print(f"executor {description}")

    def on_stage(self, node, state: str, message: str = "") -> None:
        with self._lock:
            if state == "submitted":
                self.node_started[node.id] = self.clock()
            if state in DONE_STATES:
                self.stages_done += 1
                waiting = self.waiting.pop(node.id, None)
                started = self.node_started.pop(node.id, None)
                if state == "built" and waiting is not None and started is not None:
                    self.learned.setdefault((waiting.kind, waiting.size_key), self.clock() - started)
            if state == "retry":
                self._print(f"[yellow]retry[/] {node.label}: {message}")
            if state == "rebuild":
                from kdss_bench.runner.stage_job import size_key

                self.stages_total += 1
                self.waiting[node.id] = _Waiting(node.kind, size_key(node.size), None, node.owner)
                self._print(f"[yellow]rebuild[/] {node.label}: {message}")
            if state == "cached":
                self._print(f"cached {node.label} (another run built it meanwhile)")
            self._update_suite()

    # -- events ----------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        values = dict(event.values)
        cell = event.run.split("/", 1)[-1]
        with self._lock:
            if event.stage == "cell":
                self._cell_event(event, cell, values)
            elif event.stage != "scheduler":
                self._stage_event(event, cell, values)
            self._update_suite()

    def _cell_event(self, event: Event, cell: str, values: dict) -> None:
        if event.kind == "end":
            self.cells_done += 1
            if "accuracy" in values:
                self._print(f"[green]done[/] {cell}: {values['accuracy']:.2f}% ({values.get('wall_time_s', 0):.0f} s)")
        elif event.kind == "error":
            message = values.get("message", "")
            if message in ("cancelled", "interrupted"):
                self._print(f"[yellow]cancelled[/] {cell}")
            else:
                self._print(f"[red]failed[/] {cell}: {message}")

    def _stage_event(self, event: Event, cell: str, values: dict) -> None:
        key = (event.run, event.stage)
        running = self.running.get(key)
        if event.kind == "start":
            if running is not None and running.task is not None:
                self.progress.remove_task(running.task)
            label = f"  {event.stage} {cell}"
            worker = values.get("worker")
            if worker and values.get("executor") not in (None, "inline"):
                label += f" [{worker}]"
            task = self.progress.add_task(label, total=event.total, info="")
            self.running[key] = _Running(label=label.strip(), task=task, started=self.clock(), total=event.total,
                                         node_id=self.node_of_key.get(str(values.get("key"))))
            if self.plain:
                self._print(f"start {label.strip()}")
            return
        if running is None:
            return
        if event.kind == "metric" and "resumed_from" in values:
            self._print(f"{event.stage} {cell}: resumed from step {values['resumed_from']}")
        if event.kind == "progress":
            running.step, running.total, running.info = event.step, event.total, _info(values)
            if event.step and running.first_step is None and not values.get("phase"):
                running.first_step = (self.clock(), event.step)
            if running.task is not None:
                self.progress.update(running.task, total=event.total, completed=event.step or 0, info=running.info)
        elif event.kind in ("end", "error"):
            if running.task is not None:
                self.progress.remove_task(running.task)
            del self.running[key]
            if self.plain and event.kind == "end":
                self._print(f"end {running.label} ({self.clock() - running.started:.0f} s)")

    # -- the suite's ETA ---------------------------------------------------------------------
    def eta_seconds(self) -> tuple[float, int]:
        """(seconds the known part of the rest takes, stages nothing is known about yet)."""
        now = self.clock()
        known, unknown = 0.0, 0
        rate_based_left = {running.node_id: self._running_left(running, now) for running in self.running.values()
                           if running.node_id is not None}
        for node_id, waiting in self.waiting.items():
            estimate = waiting.estimate or self.learned.get((waiting.kind, waiting.size_key))
            started = self.node_started.get(node_id)
            if started is not None:  # in flight: its measured rate beats an estimate
                rate_based = rate_based_left.get(node_id)
                if rate_based is not None:
                    known += rate_based
                elif estimate is not None:
                    known += max(0.0, estimate - (now - started))
                else:
                    unknown += 1
            elif estimate is not None:
                known += estimate
            else:
                unknown += 1
        return known / self.slots, unknown

    def _running_left(self, running: _Running, now: float) -> float | None:
        if running.first_step is None or not running.total or running.step is None:
            return None
        since, first = running.first_step
        if running.step <= first or now <= since:
            return None
        rate = (running.step - first) / (now - since)
        return max(0.0, (running.total - running.step) / rate)

    def eta_text(self) -> str:
        seconds, unknown = self.eta_seconds()
        if not self.waiting:
            return "0:00:00"
        text = _clock(seconds) if seconds > 0 or not unknown else "?"
        if unknown:
            text = f"{'≥' if seconds > 0 else ''}{text} (+{unknown} untimed)"
        return text

    def _update_suite(self) -> None:
        if self.suite_task is not None:
            self.progress.update(self.suite_task, completed=self.stages_done, total=max(1, self.stages_total),
                                 info=self._counts(), eta=self.eta_text())

    # -- plain output ------------------------------------------------------------------------
    def _tick_forever(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def tick(self) -> None:
        """One status line (plain output only): counts, ETA and every running stage's step."""
        if not self.plain:
            return
        with self._lock:
            stages = "; ".join(
                f"{r.label} {r.step if r.step is not None else '-'}/{r.total or '?'} {r.info}".rstrip()
                for r in self.running.values())
            stamp = time.strftime("%H:%M:%S")
            self._print(f"[{stamp}] {self._counts()}, ETA {self.eta_text()}" + (f" | {stages}" if stages else ""))

    def _counts(self) -> str:
        return f"stages {self.stages_done}/{self.stages_total}, cells {self.cells_done}/{self.cells_total}"

    def _print(self, text: str) -> None:
        if self.plain:
            self.console.print(text, highlight=False, markup=True, soft_wrap=True)
        else:
            self.progress.console.print(text, highlight=False)


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _info(values: dict) -> str:
    parts = []
    phase = phase_text(values)
    if phase:
        parts.append(phase)
    for key in ("loss", "accuracy"):
        value = values.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{key} {value:.4g}")
    return "  ".join(parts)
