"""Results in the paper's layout: methods as rows, downstream targets as columns.

Each cell is the mean ± population std of top-1 test accuracy over seeds. Rows that differ
in a setting other than method and target (budget, model, ...) are never averaged together:
such a setting becomes part of the row (``krr_st (budget 1000)``) and the footer calls it
"mixed". ``no_pretrain`` (the paper's "no pre-training" reference) is listed last.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kdss_bench.errors import KdssError
from kdss_bench.report.statistics import finite_or_none, mean_std

if TYPE_CHECKING:
    from rich.table import Table

NO_PRETRAIN = "no_pretrain"
SETTING_KEYS = ("suite", "source", "budget", "model", "eval", "recipe", "resolution")
"""Row fields besides method and target that change what a number means."""
FOOTER_KEYS = ("eval", "recipe", "source", "budget", "model", "resolution")
MISSING = "—"
DECIMALS = 2
METRIC_TEXT = "top-1 test accuracy (%), mean ± population std"
CSV_FIELDS = ("method", "target", "mean", "std", "n", "seeds", "best", "planned", *SETTING_KEYS)


@dataclass(frozen=True)
class TableRow:
    """One table row: a method plus the settings that vary within the table (if any)."""

    method: str
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        shown = ", ".join(f"{key} {value}" for key, value in self.settings if value is not None)
        return f"{self.method} ({shown})" if shown else self.method


@dataclass(frozen=True)
class TableCell:
    """The summary of one (row, target): accuracy over ``n`` seeds and the settings it came from."""

    row: TableRow
    target: str
    mean: float
    std: float
    n: int
    seeds: tuple[Any, ...]
    settings: Mapping[str, Any]
    best: bool = False
    planned: int | None = None
    """Seeds the suite plans for this cell (None when no plan is known); ``n < planned``: incomplete."""
    values: tuple[float, ...] = ()
    """The accuracy of each seed, in the order of ``seeds``."""


class ResultsTable:
    """A methods x targets table of result rows (index rows or ``result.json`` dicts).

    ``method_order``/``target_order`` fix the order of the names they list; others follow in
    order of first appearance. ``no_pretrain`` goes last unless ``method_order`` places it.
    Rows without an ``accuracy`` (unfinished) are ignored; a row given twice (same suite and
    cell) counts once.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        method_order: Sequence[str] | None = None,
        target_order: Sequence[str] | None = None,
        planned: Iterable[Mapping[str, Any]] | None = None,
        problems: Mapping[str, str] | None = None,
    ) -> None:
        """``planned``: the suite's cells (``cell``, ``method``, ``target``, ``seed``; from its run record),
        so that missing ones show; ``problems``: cell id -> why its result could not be read."""
        records = [row for row in _dedupe(rows) if row.get("accuracy") is not None]
        for record in records:
            for key in ("method", "target"):
                if not isinstance(record.get(key), str):
                    where = f"{record.get('suite')}/{record.get('cell')}"
                    raise KdssError(f"result {where}: key {key!r} is missing; re-run the cell")
        self.varying = tuple(key for key in SETTING_KEYS if len(_distinct(records, key)) > 1)
        """Settings with more than one value among the rows (they split rows, see the module doc)."""
        self.settings = {key: _summary(records, key) for key in SETTING_KEYS}
        """Each setting's single value, ``"mixed"``, or None where no row has it."""

        groups: dict[tuple[TableRow, str], list[Mapping[str, Any]]] = {}
        for record in records:
            row = TableRow(record["method"], tuple((key, record.get(key)) for key in self.varying))
            groups.setdefault((row, record["target"]), []).append(record)

        method_rank = _ranker([record["method"] for record in records], method_order, last=NO_PRETRAIN)
        target_rank = _ranker([record["target"] for record in records], target_order)
        self.rows: list[TableRow] = sorted(
            {row for row, _ in groups},
            key=lambda row: (method_rank(row.method), [_sort_key(value) for _, value in row.settings]),
        )
        self.targets: list[str] = sorted({target for _, target in groups}, key=target_rank)
        self.methods: list[str] = list(dict.fromkeys(row.method for row in self.rows))

        planned_cells = [dict(cell) for cell in planned or () if isinstance(cell, Mapping)]
        planned_count: dict[tuple[str, str], int] = {}
        for cell in planned_cells:
            key = (str(cell.get("method")), str(cell.get("target")))
            planned_count[key] = planned_count.get(key, 0) + 1
        if planned_cells and not self.varying:  # planned cells name no settings: only a one-setting table maps them
            plan_targets = list(dict.fromkeys(target for _, target in planned_count))
            self.targets = sorted(set(self.targets) | set(plan_targets),
                                  key=lambda t: (plan_targets.index(t) if t in plan_targets else len(plan_targets),
                                                 target_rank(t)))
            for method, _ in planned_count:
                if method not in self.methods:
                    self.methods.append(method)
                    self.rows.append(TableRow(method))
            self.rows.sort(key=lambda row: method_rank(row.method))
            self.methods = list(dict.fromkeys(row.method for row in self.rows))
        finished = {(r.get("suite"), r.get("cell")) for r in records}
        self.missing: list[str] = [str(c.get("cell")) for c in planned_cells
                                   if (c.get("suite", self.settings["suite"]), c.get("cell")) not in finished]
        """Planned cells without a readable result, in plan order."""
        self.planned_total = len(planned_cells)
        self.problems = dict(problems or {})

        cells: dict[tuple[TableRow, str], TableCell] = {}
        for (row, target), members in groups.items():
            mean, std, n = mean_std(float(member["accuracy"]) for member in members)
            seeds = tuple(member.get("seed") for member in members)
            settings = {key: _summary(members, key) for key in SETTING_KEYS}
            expected = planned_count.get((row.method, target)) if not self.varying else None
            values = tuple(float(member["accuracy"]) for member in members)
            cells[(row, target)] = TableCell(row, target, mean, std, n, seeds, settings, planned=expected,
                                             values=values)
        self._cells = _mark_best(cells, self.targets)

    # -- access ----------------------------------------------------------------------------

    @property
    def title(self) -> str:
        suite = self.settings["suite"]
        return suite if isinstance(suite, str) and suite != "mixed" else "results"

    def cell(self, row: TableRow | str, target: str) -> TableCell | None:
        """The cell of a row (or of a method's only row) and a target; None where there is no result."""
        if isinstance(row, str):
            matches = [candidate for candidate in self.rows if candidate.method == row]
            if len(matches) != 1:
                return None
            row = matches[0]
        return self._cells.get((row, target))

    def cells(self) -> list[TableCell]:
        """Every present cell, in row then column order."""
        return [self._cells[key] for key in self._keys() if key in self._cells]

    @property
    def seed_counts(self) -> set[int]:
        return {cell.n for cell in self._cells.values()}

    @property
    def complete(self) -> bool:
        """Whether every planned cell has a result (True when no plan is known)."""
        return not self.missing

    @property
    def completeness(self) -> str:
        """``incomplete: 11 of 12 cells finished; missing: a (result.json unreadable: ...), b``, or ""."""
        if not self.missing:
            return ""
        shown = []
        for cell in self.missing[:5]:
            problem = self.problems.get(cell)
            shown.append(f"{cell} ({' '.join(problem.split())[:120]})" if problem else cell)
        more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        done = self.planned_total - len(self.missing)
        return f"incomplete: {done} of {self.planned_total} cells finished; missing: {', '.join(shown)}{more}"

    @property
    def footer(self) -> str:
        """What the numbers are: metric, statistic, seeds and the settings shared by the rows."""
        if not self._cells:
            return self.completeness or "no finished results"
        counts = sorted(self.seed_counts)
        if len(counts) == 1:
            seeds = f"over {counts[0]} seed{'s' if counts[0] != 1 else ''}"
        else:
            planned = any(cell.planned is not None for cell in self._cells.values())
            shown = "a cell with fewer seeds than planned shows n=k of p" if planned else "n per cell shown"
            seeds = f"over {counts[0]}–{counts[-1]} seeds ({shown})"
        parts = [f"{METRIC_TEXT} {seeds}"]
        keys = FOOTER_KEYS + (("suite",) if self.settings["suite"] == "mixed" else ())
        parts += [f"{key}: {self.settings[key]}" for key in keys if self.settings[key] is not None]
        if self.missing:
            parts.insert(0, self.completeness)
        return "; ".join(parts)

    def cell_text(self, cell: TableCell | None) -> str:
        """``mean ± std``; one seed has no spread: ``mean (n=1)``; fewer seeds than planned:
        ``(n=1 of 2)``; ``(n=k)`` when seed counts differ within the table; ``—`` without a result."""
        if cell is None:
            return MISSING
        if cell.n == 1:
            text = f"{cell.mean:.{DECIMALS}f}"
        else:
            text = f"{cell.mean:.{DECIMALS}f} ± {cell.std:.{DECIMALS}f}"
        if cell.planned is not None and cell.n < cell.planned:
            text += f" (n={cell.n} of {cell.planned})"
        elif cell.n == 1 or (cell.planned is None and len(self.seed_counts) > 1):
            text += f" (n={cell.n})"
        return text

    # -- renderers -------------------------------------------------------------------------

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table (best mean per column in bold) and the footer line."""
        header = ["Method", *self.targets]
        lines = [
            "| " + " | ".join(_md_escape(name) for name in header) + " |",
            "| :--- |" + "".join(" ---: |" for _ in self.targets),
        ]
        for row in self.rows:
            texts = []
            for target in self.targets:
                cell = self._cells.get((row, target))
                text = self.cell_text(cell)
                texts.append(f"**{text}**" if cell is not None and cell.best else text)
            lines.append("| " + " | ".join([_md_escape(row.label), *texts]) + " |")
        return "\n".join(lines) + "\n\n" + self.footer + "\n"

    def to_csv(self) -> str:
        """One line per present cell: method,target,mean,std,n then seeds, best and the settings."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in self._records():
            record["seeds"] = " ".join("" if seed is None else str(seed) for seed in record["seeds"])
            writer.writerow({key: "" if value is None else value for key, value in record.items()})
        return buffer.getvalue()

    def to_json(self) -> str:
        """A JSON list of cell objects (method, target, mean, std, n, seeds, best and the settings)."""
        return json.dumps(self._records(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def to_latex(self) -> str:
        """A booktabs ``tabular`` (best mean per column in bold), preceded by the footer as a comment."""
        lines = [
            f"% {self.footer}",
            "% needs \\usepackage{booktabs} (\\toprule, \\midrule, \\bottomrule)",
            "\\begin{tabular}{l" + "r" * len(self.targets) + "}",
            "\\toprule",
            " & ".join(["Method", *(_tex_escape(target) for target in self.targets)]) + " \\\\",
            "\\midrule",
        ]
        for row in self.rows:
            texts = []
            for target in self.targets:
                cell = self._cells.get((row, target))
                if cell is None:
                    texts.append("--")
                    continue
                text = _tex_escape(self.cell_text(cell)).replace("±", "$\\pm$")
                texts.append(f"\\textbf{{{text}}}" if cell.best else text)
            lines.append(" & ".join([_tex_escape(row.label), *texts]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_rich(self) -> Table:
        """A ``rich.table.Table`` for the terminal: title = suite, caption = footer, best in bold."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, caption=self.footer, caption_justify="left")
        table.add_column("Method", no_wrap=True)
        for target in self.targets:
            table.add_column(target, justify="right", no_wrap=True)
        for row in self.rows:
            texts = []
            for target in self.targets:
                cell = self._cells.get((row, target))
                style = "bold" if cell is not None and cell.best else ("dim" if cell is None else "")
                texts.append(Text(self.cell_text(cell), style=style))
            table.add_row(Text(row.label, style="dim" if row.method == NO_PRETRAIN else ""), *texts)
        return table

    # -- internals -------------------------------------------------------------------------

    def _keys(self) -> list[tuple[TableRow, str]]:
        return [(row, target) for row in self.rows for target in self.targets]

    def _records(self) -> list[dict[str, Any]]:
        return [
            {
                "method": cell.row.method,
                "target": cell.target,
                "mean": finite_or_none(cell.mean),
                "std": finite_or_none(cell.std),
                "n": cell.n,
                "seeds": list(cell.seeds),
                "best": cell.best,
                "planned": cell.planned,
                **{key: cell.settings[key] for key in SETTING_KEYS},
            }
            for cell in self.cells()
        ]


def tables_by_suite(
    rows: Iterable[Mapping[str, Any]],
    *,
    method_order: Sequence[str] | None = None,
    target_order: Sequence[str] | None = None,
    planned: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, ResultsTable]:
    """One :class:`ResultsTable` per suite, in order of each suite's first appearance. ``planned``: suite ->
    its planned cells (a suite with a plan but no result yet gets a table too); ``problems``: "suite/cell"
    -> why its result could not be read."""
    by_suite: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_suite.setdefault(str(row.get("suite")), []).append(row)
    for suite in planned or {}:
        by_suite.setdefault(suite, [])
    problems = problems or {}
    return {
        suite: ResultsTable(members, method_order=method_order, target_order=target_order,
                            planned=(planned or {}).get(suite),
                            problems={key.split("/", 1)[1]: why for key, why in problems.items()
                                      if key.split("/", 1)[0] == suite})
        for suite, members in by_suite.items()
    }


def _dedupe(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Keeps the last of rows sharing (suite, cell); rows without both are all kept."""
    keyed: dict[Any, Mapping[str, Any]] = {}
    for position, row in enumerate(rows):
        suite, cell = row.get("suite"), row.get("cell")
        key = (suite, cell) if suite is not None and cell is not None else ("#", position)
        keyed.pop(key, None)
        keyed[key] = row
    return list(keyed.values())


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _distinct(records: Iterable[Mapping[str, Any]], key: str) -> list[Any]:
    return list(dict.fromkeys(_hashable(r.get(key)) for r in records if r.get(key) is not None))


def _summary(records: Iterable[Mapping[str, Any]], key: str) -> Any:
    values = _distinct(records, key)
    if not values:
        return None
    return values[0] if len(values) == 1 else "mixed"


def _ranker(seen: Sequence[str], order: Sequence[str] | None, last: str | None = None):
    """Sort key: names in ``order`` first (in that order), then by first appearance, ``last`` at the end."""
    given = {name: index for index, name in enumerate(order or ())}
    appearance = {name: index for index, name in enumerate(dict.fromkeys(seen))}

    def rank(name: str) -> tuple[int, int]:
        if name in given:
            return (0, given[name])
        if name == last:
            return (2, 0)
        return (1, appearance.get(name, 0))

    return rank


def _sort_key(value: Any) -> tuple[int, Any]:
    """Orders setting values: numbers ascending, then text, then None; never compares mixed types."""
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _mark_best(
    cells: dict[tuple[TableRow, str], TableCell], targets: Sequence[str]
) -> dict[tuple[TableRow, str], TableCell]:
    """Marks the highest mean per target (ties at the shown precision all marked); a column with a single
    value marks nothing: "best" needs something to be better than."""
    marked = dict(cells)
    for target in targets:
        column = [key for key in cells if key[1] == target and math.isfinite(cells[key].mean)]
        if len(column) < 2:
            continue
        top = max(round(cells[key].mean, DECIMALS) for key in column)
        for key in column:
            if round(cells[key].mean, DECIMALS) == top:
                cell = cells[key]
                marked[key] = dataclasses.replace(cell, best=True)
    return marked



def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIALS.get(char, char) for char in str(text))
