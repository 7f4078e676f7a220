"""Rich progress on stderr for ``kdss-bench run``: one bar for the suite, one for the current stage.

It consumes the same events that go to each cell's ``events.jsonl``, so what the console shows is
exactly what the dashboard and the store see. Stdout stays free for machine-readable output.
"""

from __future__ import annotations

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


class ConsoleProgress:
    def __init__(self, total_cells: int, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, disable=not self.console.is_terminal)
        self.suite_task: TaskID = self.progress.add_task("suite", total=total_cells, info="")
        self.stage_task: TaskID | None = None
        self.stage_name = ""
        self.done = 0

    def __enter__(self) -> ConsoleProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        values = dict(event.values)
        cell = event.run.split("/", 1)[-1]
        if event.stage == "cell":
            if event.kind == "start":
                self.progress.update(self.suite_task, description=f"suite  {cell}")
            elif event.kind == "end":
                self.done += 1
                self.progress.update(self.suite_task, completed=self.done)
                if "accuracy" in values:
                    self._print(f"[green]done[/] {cell}: {values['accuracy']:.2f}% "
                                f"({values.get('wall_time_s', 0):.0f} s)")
            elif event.kind == "error":
                self._print(f"[red]failed[/] {cell}: {values.get('message', '')}")
            return
        if event.kind == "start":
            if self.stage_task is not None:
                self.progress.remove_task(self.stage_task)
            cached = values.get("cached")
            self.stage_name = event.stage
            label = f"  {event.stage}" + (" (cached)" if cached else "")
            self.stage_task = self.progress.add_task(label, total=None, info="")
        elif event.kind == "progress" and self.stage_task is not None:
            info = "  ".join(f"{k} {v:.4g}" for k, v in values.items()
                             if k in ("loss", "accuracy") and isinstance(v, (int, float)))
            phase = values.get("phase")
            if phase:
                info = f"{phase} {info}".strip()
            self.progress.update(self.stage_task, total=event.total, completed=event.step or 0, info=info)
        elif event.kind == "end" and self.stage_task is not None:
            task = self.progress.tasks[-1] if self.progress.tasks else None
            if task is not None and task.total:
                self.progress.update(self.stage_task, completed=task.total)

    def _print(self, text: str) -> None:
        if self.progress.disable:
            self.console.print(text, highlight=False)
        else:
            self.progress.console.print(text, highlight=False)
