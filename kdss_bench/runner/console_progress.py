"""Progress of ``kdss-bench run`` on stderr: the plan's stages and cells, and a bar per running stage.

It consumes the same events that go to each cell's ``events.jsonl`` (directly from an inline
job, by tailing the files for the other executors), plus the scheduler's stage notices, so what
the console shows is what the dashboard and the store see. On a terminal it draws rich bars;
without one (a log file, CI, a SLURM job's output) it prints one plain line per stage start and
end and a status line every ``interval_s`` seconds, so a log shows life. Stdout stays free for
machine-readable output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kdss_bench.store.event import Event

PLAIN_INTERVAL_S = 30.0
PHASES = {"pool_warm_start": "pool warm start", "teacher_targets": "teacher targets", "mtt_experts": "experts"}


@dataclass
class _Running:
    label: str
    task: TaskID | None
    step: int | None = None
    total: int | None = None
    info: str = ""
    started: float = 0.0


class ConsoleProgress:
    def __init__(self, console: Console | None = None, *, interval_s: float = PLAIN_INTERVAL_S,
                 clock=time.monotonic) -> None:
        self.console = console or Console(stderr=True)
        self.plain = not self.console.is_terminal
        self.interval_s = interval_s
        self.clock = clock
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, disable=self.plain)
        self.suite_task: TaskID | None = None
        self.stages_total = 0
        self.stages_done = 0
        self.cells_total = 0
        self.cells_done = 0
        self.running: dict[tuple[str, str], _Running] = {}
        self.last_plain = clock()

    def __enter__(self) -> ConsoleProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    # -- the scheduler's notices -------------------------------------------------------------
    def on_plan(self, plan, status: dict[str, str]) -> None:
        to_run = [node for node_id, node in plan.nodes.items() if status[node_id] != "cached"]
        kinds: dict[str, int] = {}
        for node in to_run:
            kinds[node.kind] = kinds.get(node.kind, 0) + 1
        self.stages_total = len(to_run)
        self.cells_total = len(plan.cells)
        cached = len(plan.nodes) - len(to_run)
        what = ", ".join(f"{count} {kind}" for kind, count in kinds.items()) or "nothing"
        self._print(f"plan: {len(to_run)} stages to run ({what}), {cached} cached; "
                    f"`kdss-bench plan` shows them")
        self.suite_task = self.progress.add_task("stages", total=max(1, self.stages_total), info=self._counts())

    def on_backend(self, description: str) -> None:
        self._print(f"executor {description}")

    def on_stage(self, node, state: str, message: str = "") -> None:
        if state in ("built", "cached", "failed"):
            self.stages_done += 1
        elif state == "skipped":
            self.stages_done += 1
        if state == "retry":
            self._print(f"[yellow]retry[/] {node.label}: {message}")
        if state == "rebuild":
            self.stages_total += 1
            self._print(f"[yellow]rebuild[/] {node.label}: {message}")
        if state == "cached":
            self._print(f"cached {node.label} (another run built it meanwhile)")
        if self.suite_task is not None:
            self.progress.update(self.suite_task, completed=self.stages_done, info=self._counts())

    # -- events ----------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        values = dict(event.values)
        cell = event.run.split("/", 1)[-1]
        if event.stage == "cell":
            self._cell_event(event, cell, values)
        elif event.stage != "scheduler":
            self._stage_event(event, cell, values)
        self._maybe_plain_status()

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
        if self.suite_task is not None:
            self.progress.update(self.suite_task, info=self._counts())

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
            task = self.progress.add_task(label, total=None, info="")
            self.running[key] = _Running(label=label.strip(), task=task, started=self.clock())
            if self.plain:
                self._print(f"start {label.strip()}")
            return
        if running is None:
            return
        if event.kind == "metric" and "resumed_from" in values:
            self._print(f"{event.stage} {cell}: resumed from step {values['resumed_from']}")
        if event.kind == "progress":
            running.step, running.total, running.info = event.step, event.total, _info(values)
            if running.task is not None:
                self.progress.update(running.task, total=event.total, completed=event.step or 0, info=running.info)
        elif event.kind in ("end", "error"):
            if running.task is not None:
                self.progress.remove_task(running.task)
            del self.running[key]
            if self.plain and event.kind == "end":
                self._print(f"end {running.label} ({self.clock() - running.started:.0f} s)")

    # -- plain output ------------------------------------------------------------------------
    def _maybe_plain_status(self) -> None:
        if not self.plain or self.clock() - self.last_plain < self.interval_s:
            return
        self.tick()

    def tick(self) -> None:
        """One status line (plain output only): counts and every running stage's step."""
        self.last_plain = self.clock()
        if not self.plain:
            return
        stages = "; ".join(f"{r.label} {r.step if r.step is not None else '-'}/{r.total or '?'} {r.info}".rstrip()
                           for r in self.running.values())
        stamp = time.strftime("%H:%M:%S")
        self._print(f"[{stamp}] {self._counts()}" + (f" | {stages}" if stages else ""))

    def _counts(self) -> str:
        return f"stages {self.stages_done}/{self.stages_total}, cells {self.cells_done}/{self.cells_total}"

    def _print(self, text: str) -> None:
        if self.plain:
            self.console.print(text, highlight=False, markup=True, soft_wrap=True)
        else:
            self.progress.console.print(text, highlight=False)


def _info(values: dict) -> str:
    parts = []
    phase = values.get("phase")
    if phase:
        name = PHASES.get(phase, str(phase))
        if isinstance(values.get("model"), int) and isinstance(values.get("of"), int):
            name += f" {values['model']}/{values['of']}"
        elif isinstance(values.get("images"), int) and isinstance(values.get("of"), int):
            name += f" {values['images']}/{values['of']}"
        elif isinstance(values.get("expert"), int) and isinstance(values.get("experts"), int):
            name += f" {values['expert'] + 1}/{values['experts']}"
        parts.append(name)
    for key in ("loss", "accuracy"):
        value = values.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{key} {value:.4g}")
    return "  ".join(parts)
