"""One cell in detail: live curves, preview images, log, config, and its error if it failed.

The screen watches one (suite, cell): the app's poll sends it the cell's new state and, while
the screen is open, the cell's ``preview.npz`` whenever the file changes. Reading the config
happens in a thread worker, so opening a cell never waits on the disk.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Log, Sparkline, Static, TabbedContent, TabPane

from kdss_bench.store.live_runs import CellState, StagePoint
from kdss_bench.tui.cell_format import accuracy, duration, number, progress_bar, status_text
from kdss_bench.tui.guarded import guarded
from kdss_bench.tui.image_grid import ImageGrid
from kdss_bench.tui.runs_view import wall_seconds

STAGE_ORDER = ("cell", "teacher", "distill", "pretrain", "finetune", "linear_probe")
PREFERRED_SERIES = ("loss", "accuracy", "acc", "train_loss", "test_loss", "lr", "syn_lr")
COUNTERS = {"model", "steps", "images", "iterations", "resumed_from", "cached", "epoch", "wall_time_s",
            "reinitialisations"}
"""Event values that count things rather than trace training: never drawn as curves."""
FAILED = ("failed", "cancelled", "stale")


def curve_series(points: list[StagePoint]) -> dict[str, list[float]]:
    """Name -> values of a stage's numeric series (loss first) with two or more points; a constant series
    other than loss/accuracy is left out (it says nothing a curve would show)."""
    series: dict[str, list[float]] = {}
    for point in points:
        for name, value in (point.values or {}).items():
            if name in COUNTERS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                series.setdefault(name, []).append(float(value))
    ranked = sorted(series, key=lambda name: (PREFERRED_SERIES.index(name) if name in PREFERRED_SERIES
                                              else len(PREFERRED_SERIES), name))
    return {name: series[name] for name in ranked if len(series[name]) >= 2
            and (name in PREFERRED_SERIES[:2] or min(series[name]) != max(series[name]))}


def curve_stages(state: CellState) -> list[str]:
    """Stages with curves, the current one first, then in pipeline order."""
    known = sorted(state.curves, key=lambda s: (STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER), s))
    if state.stage in known:
        known.remove(state.stage)
        known.insert(0, state.stage)
    return known


def summary_text(state: CellState, now: float) -> Text:
    text = Text()
    text.append(f"{state.suite} / {state.cell}  ", style="bold")
    text.append_text(status_text(state.status))
    if state.stage:
        text.append(f"  {state.stage} ")
        text.append_text(progress_bar(state.step, state.total, state.status))
        if state.step is not None and state.total:
            text.append(f" {state.step}/{state.total}")
    text.append("\n")
    facts = [f"method {state.method or '?'}", f"target {state.target or '?'}",
             f"seed {'?' if state.seed is None else state.seed}"]
    if state.status == "running" and state.eta_s is not None:
        facts.append(f"ETA {duration(state.eta_s)}")
    if state.where:
        facts.append(f"on {state.where}")
    if state.last_loss is not None:
        facts.append(f"loss {number(state.last_loss)}")
    if state.accuracy is not None:
        facts.append(f"accuracy {accuracy(state.accuracy)}%")
    wall = wall_seconds(state, now)
    if wall is not None:
        facts.append(f"wall {duration(wall)}")
    text.append(" · ".join(facts), style="dim")
    return text


def _widget_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in parts)


class RunDetailScreen(Screen):
    """Detail of one cell; escape goes back to the runs."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, key: tuple[str, str]) -> None:
        super().__init__()
        self.key = key
        self._log_lines: list[str] | None = None
        self._config_loaded = False
        self._shown_error: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="detail-summary")
        yield Static("", id="detail-error")
        with TabbedContent(id="detail-tabs", initial="tab-curves"):
            with TabPane("Curves", id="tab-curves"):
                yield VerticalScroll(Static("no progress events yet", id="curves-empty"), id="curves")
            with TabPane("Images", id="tab-images"):
                with VerticalScroll(id="images"):
                    yield Static("", id="images-caption")
                    yield ImageGrid(id="image-grid")
            with TabPane("Log", id="tab-log"):
                yield Log(id="detail-log", max_lines=2000)
            with TabPane("Config", id="tab-config"):
                yield VerticalScroll(Static("", id="detail-config", markup=False))
            with TabPane("Error", id="tab-error"):
                yield VerticalScroll(Static("no error", id="detail-traceback", markup=False))
        yield Footer(compact=True)

    @guarded
    def on_mount(self) -> None:
        self.app.subscribe(self)
        self.app.watch_cell(self.key)
        self.show_state()
        self.show_preview()
        self.load_config()
        state = self.app.cells.get(self.key)
        if state is not None and state.status in FAILED and state.error:
            self.query_one(TabbedContent).active = "tab-error"

    def on_unmount(self) -> None:
        self.app.unsubscribe(self)
        self.app.watch_cell(None)

    def action_back(self) -> None:
        self.dismiss()

    def selected_key(self) -> tuple[str, str] | None:
        return self.key

    # -- updates -------------------------------------------------------------------------------

    @guarded
    def live_updated(self, update) -> None:
        if self.key in update.changed:
            self.show_state()
            if not self._config_loaded:
                self.load_config()
        if update.preview is not None and update.preview[0] == self.key:
            self.show_preview()

    def show_state(self) -> None:
        state = self.app.cells.get(self.key)
        summary = self.query_one("#detail-summary", Static)
        if state is None:
            summary.update(Text(f"{self.key[0]} / {self.key[1]}: no such cell under {self.app.results_root}"))
            return
        summary.update(summary_text(state, self.app.clock()))
        self._show_error(state)
        self._show_curves(state)
        if state.log != self._log_lines:
            log = self.query_one("#detail-log", Log)
            log.clear()
            log.write_lines(state.log)
            self._log_lines = list(state.log)

    def _show_error(self, state: CellState) -> None:
        shown = (state.status, state.error, state.traceback)
        if shown == self._shown_error:
            return
        self._shown_error = shown
        banner = self.query_one("#detail-error", Static)
        if state.error:
            first = state.error.strip().splitlines()[0] if state.error.strip() else state.error
            banner.update(Text(f"{state.status}: {first}", style="bold red"))
            banner.display = True
            body = state.error + ("\n\n" + state.traceback if state.traceback else "")
            self.query_one("#detail-traceback", Static).update(body)
        else:
            banner.display = False
            self.query_one("#detail-traceback", Static).update("no error")

    def _show_curves(self, state: CellState) -> None:
        container = self.query_one("#curves", VerticalScroll)
        stages = curve_stages(state)
        wanted: list[tuple[str, str, str, list[float]]] = []
        for stage in stages:
            for name, values in curve_series(state.curves.get(stage, [])).items():
                wanted.append((_widget_id("curve", stage, name), stage, name, values))
        empty = self.query_one("#curves-empty", Static)
        empty.display = not wanted
        if not wanted:  # a warm-up phase reports progress before any curve exists: say what it is doing
            empty.update(f"{state.stage}: {state.phase} (its curves start with its first step)" if state.phase
                         else "no progress events yet")
        existing = {child.id for child in container.children if child.id}
        wanted_ids = {ident for ident, *_ in wanted} | {f"{ident}-label" for ident, *_ in wanted} | {"curves-empty"}
        for child in list(container.children):
            if child.id not in wanted_ids:
                child.remove()
        for ident, stage, name, values in wanted:
            label = Text()
            label.append(f"{stage} · {name}", style="bold" if stage == state.stage else "")
            label.append(f"  last {number(values[-1])}  min {number(min(values))}  max {number(max(values))}  "
                         f"({len(values)} points)", style="dim")
            if ident in existing:
                self.query_one(f"#{ident}-label", Label).update(label)
                self.query_one(f"#{ident}", Sparkline).data = values
            else:
                container.mount(Label(label, id=f"{ident}-label", classes="curve-label"))
                container.mount(Sparkline(values, id=ident, classes="curve"))

    def show_preview(self) -> None:
        preview = self.app.preview_for(self.key)
        caption = self.query_one("#images-caption", Static)
        grid = self.query_one("#image-grid", ImageGrid)
        if preview is None:
            caption.update("")
            grid.images = None
            return
        images = preview.images
        side = images.shape[1] if getattr(images, "ndim", 0) == 4 else "?"
        caption.update(Text(f"step {preview.step}/{preview.total} · first {len(images)} images ({side} px)",
                            style="dim"))
        grid.images = images

    # -- config --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-config", exit_on_error=False)
    def load_config(self) -> None:
        path = Path(self.app.results_root) / self.key[0] / self.key[1] / "config.yaml"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        self.app.call_from_thread(self._set_config, text)

    @guarded
    def _set_config(self, text: str) -> None:
        self._config_loaded = True
        self.query_one("#detail-config", Static).update(text)
