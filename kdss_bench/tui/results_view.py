"""The results view: the accuracy table of each suite, filling in as cells finish.

Rows are methods, columns downstream datasets, cells ``mean ± std`` over seeds (the same
:class:`ResultsTable` as ``kdss-bench table``), the best mean of each column in bold green, and
two cost columns per row: mean wall time of its cells and their peak memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kdss_bench.report.results_table import MISSING, NO_PRETRAIN, ResultsTable, TableRow
from kdss_bench.results import Results
from kdss_bench.tui.cell_format import duration
from kdss_bench.tui.guarded import guarded

BEST_STYLE = "bold green"
EMPTY_TEXT = ("No finished results yet. They appear here as cells finish; press [b]r[/b] for the runs, "
              "[b]l[/b] to launch a suite.")


def row_members(rows: Sequence[Mapping[str, Any]], row: TableRow) -> list[Mapping[str, Any]]:
    """The result rows that a table row summarises (its method and its varying settings)."""
    return [r for r in rows if r.get("method") == row.method and r.get("accuracy") is not None
            and all(r.get(key) == value for key, value in row.settings)]


def cost_texts(members: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(mean wall time per cell, peak memory in MB over the cells) as short texts."""
    walls = [float(m["wall_time_s"]) for m in members if _finite(m.get("wall_time_s"))]
    peaks = [float(m["peak_memory_mb"]) for m in members if _finite(m.get("peak_memory_mb"))]
    wall = duration(sum(walls) / len(walls)) if walls else MISSING
    peak = f"{max(peaks):.0f}" if peaks else MISSING
    return wall, peak


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fill_table(widget: DataTable, table: ResultsTable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Puts ``table`` into ``widget``: method rows, target columns, then the cost columns."""
    widget.clear(columns=True)
    widget.add_column("Method", key="method")
    for target in table.targets:
        widget.add_column(target, key=f"target:{target}")
    widget.add_column("wall/cell", key="wall")
    widget.add_column("peak MB", key="peak")
    for row in table.rows:
        cells: list[Text] = []
        for target in table.targets:
            cell = table.cell(row, target)
            style = BEST_STYLE if cell is not None and cell.best else ("dim" if cell is None else "")
            cells.append(Text(table.cell_text(cell), style=style, justify="right"))
        wall, peak = cost_texts(row_members(rows, row))
        label = Text(row.label, style="dim" if row.method == NO_PRETRAIN else "")
        widget.add_row(label, *cells, Text(wall, justify="right"), Text(peak, justify="right"),
                       key=row.label)


class ResultsScreen(Screen):
    """One table per suite under the results folder; rebuilt only when a result file changes."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield VerticalScroll(Static(EMPTY_TEXT, id="results-empty"), id="results-body")
        yield Footer(compact=True)

    @guarded
    def on_mount(self) -> None:
        self.app.subscribe(self)
        self.show_rows(self.app.result_rows)

    def on_unmount(self) -> None:
        self.app.unsubscribe(self)

    @guarded
    def live_updated(self, update) -> None:
        if update.result_rows is not None:
            self.show_rows(update.result_rows)

    def show_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        body = self.query_one("#results-body", VerticalScroll)
        empty = self.query_one("#results-empty", Static)
        planned = getattr(self.app, "planned", {})
        problems = {f"{state.suite}/{state.cell}": f"{state.status}: {state.error}"
                    for state in getattr(self.app, "cells", {}).values() if state.error}
        # methods in the order the suite runs them; the cells a suite plans but lacks are marked missing
        live = Results(getattr(self.app, "results_root", Path(".")), list(rows), planned={
            s: c for s, c in planned.items() if any(r.get("suite") == s for r in rows)}, problems=problems)
        tables = live.tables() if rows else {}
        empty.display = not tables
        with self.app.batch_update():
            for old in body.query(".suite-block"):
                old.remove()
            by_suite: dict[str, list[Mapping[str, Any]]] = {}
            for row in rows:
                by_suite.setdefault(str(row.get("suite")), []).append(row)
            for suite, table in tables.items():
                widget = DataTable(cursor_type="row", zebra_stripes=True, classes="suite-block results-table")
                body.mount(Static(Text(suite, style="bold"), classes="suite-block suite-title"))
                body.mount(widget)
                fill_table(widget, table, by_suite[suite])
                note = f"{table.footer}; best mean of each column in bold green; wall/cell: mean wall time"
                body.mount(Static(note, classes="suite-block suite-footer", markup=False))
