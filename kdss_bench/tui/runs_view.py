"""The runs view: every cell of every suite under the results folder, updated live.

Column widths are fixed for a terminal width and only the rows a poll reports as changed are
rewritten (with ``update_cell``, never re-measuring columns), so a table of hundreds of cells stays
cheap to refresh several times a second. The cell column takes whatever width the other columns
leave (cell ids are what a reader scans); narrow terminals (an 80x24 one) leave out the suite and
wall-time columns (the summary line names the suites; the detail screen shows the wall time),
and only wide ones show where a running cell's stage runs (executor and worker). Runs started
elsewhere (``kdss-bench run`` in another terminal) appear the same way, since everything shown
comes from the files the runner writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kdss_bench.store.live_runs import CellState
from kdss_bench.tui.cell_format import accuracy, duration, number, progress_bar, status_text
from kdss_bench.tui.guarded import guarded

COLUMNS = (  # (label, key, width, shown from this terminal width); each width includes a one-space gap
    ("suite", "suite", 11, 97),  # SUITE_WIDTH
    ("cell", "cell", 0, 0),  # 0: the width the others leave
    ("status", "status", 10, 0),
    ("stage", "stage", 9, 0),
    ("progress", "progress", 14, 0),
    ("ETA", "eta", 6, 0),
    ("loss", "loss", 8, 0),
    ("acc", "accuracy", 6, 0),
    ("wall", "wall", 6, 97),
    ("where", "where", 14, 136),
)
CELL_MIN, CELL_COMFORT, CELL_MAX = 22, 40, 64
SUITE_WIDTH, SUITE_EXTRA = 11, 9
FRAME = 2
"""Columns of the terminal taken by the table's vertical scrollbar."""
WIDE_FROM = 97
"""Terminal width from which the suite and wall-time columns are shown."""
EMPTY_TEXT = ("No runs under {root} yet. Press [b]l[/b] to launch a suite, or run "
              "[b]kdss-bench run SUITE --results {root}[/b] in another terminal: it shows up here.")


def row_key(suite: str, cell: str) -> str:
    return f"{suite}/{cell}"


def wall_seconds(state: CellState, now: float) -> float | None:
    """The cell's wall time: from its result when finished, else elapsed since it started."""
    if state.wall_time_s is not None:
        return state.wall_time_s
    if state.status == "running" and state.started_at is not None:
        return max(0.0, now - state.started_at)
    return None


def visible_columns(width: int) -> tuple[tuple[str, str, int, int], ...]:
    """The columns a terminal ``width`` columns wide shows: the cell column gets what the others leave,
    up to 40 characters; beyond that the suite column grows too (suite names such as
    ``cifar10-transfer`` are cut at the default width), then the cell column again."""
    shown = [column for column in COLUMNS if width >= column[3]]
    rest = width - FRAME - sum(column[2] for column in shown)
    suite_extra = min(SUITE_EXTRA, max(0, rest - CELL_COMFORT)) if any(c[1] == "suite" for c in shown) else 0
    cell = max(CELL_MIN, min(CELL_MAX, rest - suite_extra))
    sizes = {"cell": cell, "suite": SUITE_WIDTH + suite_extra}
    return tuple((label, key, sizes.get(key, size), start) for label, key, size, start in shown)


def row_values(state: CellState, now: float, cell_width: int = CELL_MIN,
               suite_width: int = SUITE_WIDTH) -> dict[str, Text]:
    """The texts of one row by column key, each cut to leave a one-space gap before the next column."""
    values: dict[str, Text | str] = {
        "suite": state.suite,
        "cell": state.cell,
        "status": status_text(state.status),
        "stage": state.stage or "",
        "progress": progress_bar(state.step, state.total, state.status),
        "eta": duration(state.eta_s) if state.status == "running" else "",
        "loss": number(state.last_loss, width=7),
        "accuracy": accuracy(state.accuracy),
        "wall": duration(wall_seconds(state, now)),
        "where": state.where or "",
    }
    texts = {key: fit(values[key], width - 1) for _, key, width, _ in COLUMNS if width}
    texts["cell"] = Text(middle_ellipsis(state.cell, cell_width - 1))
    texts["suite"] = fit(state.suite, suite_width - 1)
    return texts


def fit(value: Text | str, width: int) -> Text:
    text = value.copy() if isinstance(value, Text) else Text(value)
    text.truncate(width, overflow="ellipsis")
    return text


def middle_ellipsis(text: str, width: int) -> str:
    """Cuts the middle of a long cell id so that its seed (at the end) stays visible."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 3
    return text[: width - 1 - tail] + "…" + text[len(text) - tail:]


class RunsTable(DataTable):
    """The runs table; enter opens the selected cell (shown in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "Detail")]


class RunsScreen(Screen):
    """Runs of every suite, one row per cell, plus a per-suite summary line."""

    def __init__(self) -> None:
        super().__init__()
        self._order: tuple[tuple[str, str], ...] = ()
        self._columns: tuple[tuple[str, str, int, int], ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static("", id="runs-summary")
        yield Footer(compact=True)

    @guarded
    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)
        self.app.subscribe(self)
        self.show_all()
        self.set_interval(1.0, self.refresh_clock)

    @guarded
    def on_resize(self, event) -> None:
        if visible_columns(event.size.width) != self._columns:
            self._set_columns(event.size.width)
            self.show_all()

    def _set_columns(self, width: int) -> None:
        table = self.query_one(RunsTable)
        self._columns = visible_columns(width)
        table.clear(columns=True)
        for label, key, column_width, _ in self._columns:
            table.add_column(label, key=key, width=column_width)

    @property
    def _cell_width(self) -> int:
        return next((column[2] for column in self._columns if column[1] == "cell"), CELL_MIN)

    @property
    def _suite_width(self) -> int:
        return next((column[2] for column in self._columns if column[1] == "suite"), SUITE_WIDTH)

    def on_unmount(self) -> None:
        self.app.unsubscribe(self)

    # -- updates -------------------------------------------------------------------------------

    @guarded
    def live_updated(self, update) -> None:
        if update.order != self._order:
            self.show_all()
            return
        table = self.query_one(RunsTable)
        now = self.app.clock()
        for suite, cell in update.changed:
            state = self.app.cells.get((suite, cell))
            if state is not None:
                self._write_row(table, state, now)
        self._show_summary()

    def show_all(self) -> None:
        """Rebuilds the rows (when cells appear or a plan changes their order), keeping the cursor."""
        table = self.query_one(RunsTable)
        selected = self.selected_key()
        now = self.app.clock()
        table.clear()
        self._order = tuple(self.app.order)
        for key in self._order:
            state = self.app.cells.get(key)
            if state is not None:
                values = row_values(state, now, self._cell_width, self._suite_width)
                table.add_row(*(values[column[1]] for column in self._columns), key=row_key(*key))
        if selected in self._order:
            table.move_cursor(row=self._order.index(selected), animate=False)
        self._show_summary()

    @guarded
    def refresh_clock(self) -> None:
        """Rewrites the wall time of running cells (the only text that changes without an event)."""
        table = self.query_one(RunsTable)
        now = self.app.clock()
        if not any(column[1] == "wall" for column in self._columns):
            return
        for key in self._order:
            state = self.app.cells.get(key)
            if state is not None and state.status == "running":
                values = row_values(state, now, self._cell_width, self._suite_width)
                table.update_cell(row_key(*key), "wall", values["wall"])

    def _write_row(self, table: RunsTable, state: CellState, now: float) -> None:
        key = row_key(state.suite, state.cell)
        values = row_values(state, now, self._cell_width, self._suite_width)
        for column in self._columns:
            table.update_cell(key, column[1], values[column[1]])

    def _show_summary(self) -> None:
        summary = self.query_one("#runs-summary", Static)
        if not self._order:
            root = self.app.results_root
            summary.update(EMPTY_TEXT.format(root=root))
            return
        summary.update(summary_text(self.app.cells, self._order, self.app.alive, getattr(self.app, "runs", {})))

    # -- selection -----------------------------------------------------------------------------

    def selected_key(self) -> tuple[str, str] | None:
        table = self.query_one(RunsTable)
        if not self._order or table.row_count == 0:
            return None
        row = table.cursor_row
        return self._order[row] if 0 <= row < len(self._order) else None

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.app.refresh_bindings()

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = self.selected_key()
        if key is not None:
            self.app.open_detail(key)


def summary_text(cells, order: Sequence[tuple[str, str]], alive, runs=None) -> Text:
    """One line per suite: counts per status and its live runs (executor and pid of each)."""
    text = Text()
    suites = list(dict.fromkeys(suite for suite, _ in order))
    for position, suite in enumerate(suites):
        counts = Counter(cells[key].status for key in order if key[0] == suite and key in cells)
        parts = [f"{counts[status]} {status}" for status in
                 ("done", "cached", "running", "queued", "failed", "cancelled", "stale") if counts[status]]
        if position:
            text.append("\n")
        text.append(suite, style="bold")
        text.append(f"  {len([k for k in order if k[0] == suite])} cells: " + ", ".join(parts))
        live = (runs or {}).get(suite, [])
        if len(live) > 1:
            text.append(f"  {len(live)} runs alive ({'; '.join(live)})", style="green")
        elif alive.get(suite):
            text.append("  runner alive" + (f" ({live[0]})" if live and not live[0].startswith("inline") else ""),
                        style="green")
        else:
            text.append("  no runner", style="dim")
    return text
