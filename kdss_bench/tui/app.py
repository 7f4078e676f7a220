"""The dashboard app: views, key bindings, the polling tick and the actions (launch, cancel, ...).

Training never runs in this process. A ``set_interval`` tick (4 per second) polls the results
folder in a thread worker; the worker posts one :class:`LiveUpdated` message with what changed,
and the handler repaints only those rows inside ``batch_update``, so the screen updates a few
times a second however fast events arrive. Every handler and action is guarded: an error shows
as a notification and the dashboard keeps running.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from kdss_bench.store.live_runs import CellState
from kdss_bench.store.suite_folder import SuiteFolder
from kdss_bench.tui.guarded import guarded
from kdss_bench.tui.launch_screen import LaunchScreen
from kdss_bench.tui.live_feed import CellKey, LiveFeed, LiveUpdate, Preview
from kdss_bench.tui.results_view import ResultsScreen
from kdss_bench.tui.run_detail import RunDetailScreen
from kdss_bench.tui.run_launcher import RunLauncher, suite_name_of
from kdss_bench.tui.runs_view import RunsScreen

POLL_INTERVAL_S = 0.25
RERUNNABLE = ("failed", "cancelled", "stale")


@dataclass
class LiveUpdated(Message):
    """Posted by the polling worker (from its thread) with what one poll found."""

    update: LiveUpdate


@dataclass
class PollFailed(Message):
    """Posted by the polling worker when a poll raised (the next tick tries again)."""

    error: str
    details: str


class DashboardApp(App[None]):
    """``kdss-bench dash``: runs, run detail and results of a results folder, and launching suites."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "kdss-bench"
    MODES = {"runs": RunsScreen, "results": ResultsScreen}
    DEFAULT_MODE = "runs"
    BINDINGS = [
        Binding("r", "show_runs", "Runs"),
        Binding("t", "show_results", "Results"),
        Binding("l", "launch", "Launch"),
        Binding("c", "cancel", "Cancel"),
        Binding("R", "rerun_failed", "Rerun", key_display="R"),
        Binding("e", "export", "Export"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        results_root: Path = Path("results"),
        suite_path: Path | None = None,
        *,
        suites_dir: Path = Path("suites"),
        clock: Callable[[], float] = time.time,
        poll_interval: float = POLL_INTERVAL_S,
        python: str = sys.executable,
        cancel_grace_s: float | None = None,
    ) -> None:
        super().__init__()
        self.results_root = Path(results_root)
        self.suite_path = suite_path
        self.suites_dir = Path(suites_dir)
        self.clock = clock
        self.poll_interval = poll_interval
        grace = {} if cancel_grace_s is None else {"grace_s": cancel_grace_s}
        self.launcher = RunLauncher(self.results_root, python=python, **grace)
        self.feed = LiveFeed(self.results_root, self.launcher)
        self.sub_title = str(self.results_root)
        # the UI thread's copy of what the polls found (the worker never touches these)
        self.cells: dict[CellKey, CellState] = {}
        self.order: tuple[CellKey, ...] = ()
        self.alive: dict[str, bool] = {}
        self.runs: dict[str, list[str]] = {}
        self.planned: dict[str, list[dict]] = {}
        """Suite -> a description of each live run of it (several: a --cells re-run beside the first)."""
        self.result_rows: list[dict] = []
        self.polls_applied = 0
        self._preview: tuple[CellKey, Preview | None] | None = None
        self._watched: CellKey | None = None
        self._subscribers: list[Any] = []
        self._problems_shown: set[str] = set()

    # -- polling -------------------------------------------------------------------------------

    @guarded
    def on_mount(self) -> None:
        self.poll_runs()
        self.set_interval(self.poll_interval, self.poll_runs)
        if self.suite_path is not None:
            self.launch_suite(Path(self.suite_path))

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll_runs(self) -> None:
        try:
            update = self.feed.poll(self._watched)
        except Exception as exc:  # noqa: BLE001 - reported on the UI thread; the next tick tries again
            self.post_message(PollFailed(f"polling {self.results_root} failed: {type(exc).__name__}: {exc}",
                                         traceback.format_exc()))
            return
        if update is not None and (not update.empty or self.polls_applied == 0):
            self.post_message(LiveUpdated(update))

    @guarded
    def on_poll_failed(self, message: PollFailed) -> None:
        if message.error not in self._problems_shown:  # once per distinct error, not four times a second
            self._problems_shown.add(message.error)
            self.report_error(message.error, message.details)

    @guarded
    def on_live_updated(self, message: LiveUpdated) -> None:
        update = message.update
        self.cells.update(update.cells)
        if update.order != self.order:
            known = set(update.order)
            self.cells = {key: state for key, state in self.cells.items() if key in known}
            self.order = update.order
        self.alive = update.alive
        self.runs = update.runs
        self.planned = update.planned
        if update.result_rows is not None:
            self.result_rows = update.result_rows
        if update.preview is not None:
            self._preview = update.preview
        self.polls_applied += 1
        for problem in update.problems:
            if problem not in self._problems_shown:
                self._problems_shown.add(problem)
                self.notify(problem, title="read error", severity="warning")
        for launch in update.ended:
            outcome = launch.outcome()
            text = f"{launch.suite}: {outcome} (exit status {launch.returncode}); log {launch.log_path}"
            if outcome not in ("finished", "cancelled"):
                text += "\n" + launch.log_tail(3)
            self.notify(text, title="run ended", severity="information" if outcome == "finished" else "error",
                        timeout=10)
        with self.batch_update():
            for subscriber in list(self._subscribers):
                try:
                    subscriber.live_updated(update)
                except Exception as exc:  # noqa: BLE001 - one view's bug must not stop the others
                    self.report_error(f"{type(subscriber).__name__}: {type(exc).__name__}: {exc}",
                                      traceback.format_exc())
        self.refresh_bindings()

    def subscribe(self, view: Any) -> None:
        """A view that wants :meth:`live_updated` calls (views subscribe on mount, leave on unmount)."""
        if view not in self._subscribers:
            self._subscribers.append(view)

    def unsubscribe(self, view: Any) -> None:
        if view in self._subscribers:
            self._subscribers.remove(view)

    def watch_cell(self, key: CellKey | None) -> None:
        """The cell whose preview images the polls should read (the open detail screen's)."""
        self._watched = key
        self.feed.forget_preview()

    def preview_for(self, key: CellKey) -> Preview | None:
        if self._preview is not None and self._preview[0] == key:
            return self._preview[1]
        return None

    def report_error(self, message: str, details: str = "") -> None:
        """Shows an error without stopping the app (and logs the traceback for ``textual console``)."""
        self.log.error(message, details)
        self.notify(message, title="dashboard error", severity="error", timeout=10)

    # -- selection -----------------------------------------------------------------------------

    def selected_key(self) -> CellKey | None:
        """The cell under the cursor of the runs view (or shown by the detail screen)."""
        finder = getattr(self.screen, "selected_key", None)
        return finder() if callable(finder) else None

    def selected_state(self) -> CellState | None:
        key = self.selected_key()
        return self.cells.get(key) if key is not None else None

    def suite_running(self, suite: str) -> bool:
        return bool(self.alive.get(suite)) or self.launcher.running(suite) is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dims cancel / rerun in the footer when the selected cell does not allow them."""
        try:
            return self._action_allowed(action)
        except Exception:  # noqa: BLE001 - e.g. a screen still composing: show the binding dimmed
            return None

    def _action_allowed(self, action: str) -> bool | None:
        if action == "cancel":
            state = self.selected_state()
            return True if state is not None and self.suite_running(state.suite) else None
        if action == "rerun_failed":
            state = self.selected_state()
            ok = state is not None and state.status in RERUNNABLE and not self.suite_running(state.suite)
            return True if ok else None
        return True

    # -- actions -------------------------------------------------------------------------------

    @guarded
    def action_show_runs(self) -> None:
        self.switch_mode("runs")

    @guarded
    def action_show_results(self) -> None:
        self.switch_mode("results")

    @guarded
    def open_detail(self, key: CellKey) -> None:
        self.push_screen(RunDetailScreen(key))

    @guarded
    def action_launch(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.launch_suite(path)

        self.push_screen(LaunchScreen(self.suites_dir), chosen)

    @guarded
    def launch_suite(self, suite_path: Path, cells: Iterable[str] = ()) -> None:
        """Starts ``kdss-bench run`` on ``suite_path`` (only ``cells`` if given) in its own process."""
        suite_path = Path(suite_path)
        if not suite_path.is_file():
            self.notify(f"{suite_path}: no such suite file", severity="error")
            return
        suite = suite_name_of(suite_path)
        if self.suite_running(suite) and not cells:  # a --cells re-run beside a live run is fine: its own record
            self.notify(f"suite {suite} is already running; cancel it first (c) or wait", severity="warning")
            return
        launch = self.launcher.launch(suite_path, tuple(cells), suite=suite)
        what = f"cells {', '.join(launch.cells)}" if launch.cells else "all cells"
        self.notify(f"launched {suite} ({what}), pid {launch.pid}; log {launch.log_path}", title="launch")
        self.poll_runs()

    @guarded
    def action_cancel(self) -> None:
        state = self.selected_state()
        if state is None:
            self.notify("select a cell of the run to cancel", severity="warning")
            return
        self.notify(self.launcher.cancel(state.suite), title="cancel")

    @guarded
    def action_rerun_failed(self) -> None:
        state = self.selected_state()
        if state is None or state.status not in RERUNNABLE:
            self.notify("select a failed, cancelled or stale cell to re-run it", severity="warning")
            return
        if self.suite_running(state.suite):  # the footer dims R then; the command palette reaches here too
            self.notify(f"{state.suite} is still running; re-run {state.cell} when it has finished, or cancel it "
                        "first (c)", severity="warning")
            return
        run = SuiteFolder(self.results_root, state.suite).latest_run() or {}
        suite_path = run.get("suite_path")
        if not suite_path or not Path(suite_path).is_file():
            self.notify(f"cannot re-run {state.cell}: the suite file of {state.suite} is unknown "
                        f"(its latest run record says {suite_path!r}); launch it with l", severity="error")
            return
        self.launch_suite(Path(suite_path), cells=[state.cell])

    @guarded
    def action_export(self) -> None:
        if not self.result_rows:
            self.notify("no finished results to export yet", severity="warning")
            return
        self.export_tables()

    @work(thread=True, group="export", exit_on_error=False)
    def export_tables(self) -> None:
        from kdss_bench.tui.table_export import export_tables

        try:
            written = export_tables(self.results_root)
        except Exception as exc:  # noqa: BLE001
            self.call_from_thread(self.report_error, f"export failed: {type(exc).__name__}: {exc}")
            return
        folders = sorted({str(path.parent) for path in written})
        self.call_from_thread(self.notify, f"wrote table.md, table.csv, table.json in {', '.join(folders)}",
                              title="export")

    # -- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Runs", "Show every cell and its progress (r)", self.action_show_runs)
        yield SystemCommand("Results", "Show the accuracy tables (t)", self.action_show_results)
        yield SystemCommand("Launch suite", "Run a suite YAML from suites/ or a path (l)", self.action_launch)
        yield SystemCommand("Cancel run", "Stop the run of the selected cell's suite (c)", self.action_cancel)
        yield SystemCommand("Re-run failed cell", "Run the selected failed cell again (R)", self.action_rerun_failed)
        yield SystemCommand("Export tables", "Write table.md/.csv/.json under results/<suite>/_suite/ (e)",
                            self.action_export)
        yield from super().get_system_commands(screen)
