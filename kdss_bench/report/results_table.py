"""Results in the paper's layout: methods as rows, downstream targets as columns, by default.

Each cell is the mean ± population std of top-1 test accuracy over seeds. The table groups by the
axes that vary among its results: rows are the method, then the evaluation model, the budget and
any other setting that varies (never averaged together), columns the target; ``row_axes`` /
``column_axes`` choose another layout (``--rows method --columns target,budget``). ``no_pretrain``
(the paper's "no pre-training" reference) is listed last. With the suite's planned cells, a cell
with fewer seeds than planned says so and the table says it is incomplete. Where rows vary by
evaluation protocol, they come in one block per protocol (and label fraction), each row with its
rank within its block, and the footer gives the rank agreement between protocols
(:mod:`kdss_bench.report.protocol_ranks`).
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
from kdss_bench.report.protocol_ranks import Agreement, agreements, block_ranks
from kdss_bench.report.statistics import finite_or_none, mean_std

if TYPE_CHECKING:
    from rich.table import Table

NO_PRETRAIN = "no_pretrain"
AXES = ("method", "target", "model", "budget", "protocol", "label_fraction", "suite", "source", "eval",
        "recipe", "resolution")
"""Every key a result can be grouped by; after method and target in the order rows take them."""
SETTING_KEYS = ("suite", "source", "budget", "model", "eval", "recipe", "resolution", "protocol", "label_fraction")
"""Result fields besides method and target that change what a number means."""
FOOTER_KEYS = ("eval", "protocol", "label_fraction", "recipe", "source", "budget", "model", "resolution")
AXIS_NAMES = {"model": "model", "budget": "budget", "protocol": "protocol", "label_fraction": "labels"}
MISSING = "—"
DECIMALS = 2
METRIC_TEXT = "top-1 test accuracy (%), mean ± population std"
CSV_FIELDS = ("method", "target", "mean", "std", "n", "seeds", "best", "planned", *SETTING_KEYS, "rank")
PROTOCOL_ORDER = ("krr_st", "mkdt")
"""Protocols in the order a table without its suite's plan shows them (the paper's first)."""
BLOCK_AXES = ("protocol", "label_fraction")
PROTOCOL_TEXT = {"krr_st": "each method's own pre-training recipe, then {eval}",
                 "mkdt": ("a short MSE pre-training to the set's targets, then {eval} (a linear head fitted by "
                          "L-BFGS on frozen features)")}
"""Row axes that split a table into blocks of their own (rows ranked within each) when protocols vary."""


@dataclass(frozen=True)
class TableRow:
    """One table row: its value of each row axis (a method, plus the settings that vary, by default)."""

    method: str | None
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def values(self) -> tuple[tuple[str, Any], ...]:
        return ((("method", self.method),) if self.method is not None else ()) + self.settings

    @property
    def label(self) -> str:
        shown = ", ".join(f"{AXIS_NAMES.get(key, key)} {value}" for key, value in self.settings if value is not None)
        head = self.method if self.method is not None else ""
        if not head:
            return shown or "all"
        return f"{head} ({shown})" if shown else head


@dataclass(frozen=True)
class TableColumn:
    """One column: its value of each column axis (the target, by default)."""

    values: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        parts = [str(value) if key in ("target", "method") else f"{AXIS_NAMES.get(key, key)} {value}"
                 for key, value in self.values if value is not None]
        return ", ".join(parts) or "all"


@dataclass(frozen=True)
class TableCell:
    """The summary of one (row, column): accuracy over ``n`` seeds and the settings it came from."""

    row: TableRow
    target: str
    """The column's label (the target's name in the default layout)."""
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
    """A rows x columns table of result rows (index rows or ``result.json`` dicts).

    ``method_order``/``target_order`` fix the order of the names they list; others follow in
    order of first appearance. ``no_pretrain`` goes last unless ``method_order`` places it.
    Rows without an ``accuracy`` (unfinished) are ignored; a row given twice (same suite and
    cell) counts once. ``planned``: the suite's cells (``cell``, ``method``, ``target``, ``seed``
    and their other axes, from its run record), so that missing ones show; ``problems``: cell id
    -> why its result could not be read.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        method_order: Sequence[str] | None = None,
        target_order: Sequence[str] | None = None,
        planned: Iterable[Mapping[str, Any]] | None = None,
        problems: Mapping[str, str] | None = None,
        row_axes: Sequence[str] | None = None,
        column_axes: Sequence[str] | None = None,
    ) -> None:
        records = [row for row in _dedupe(rows) if row.get("accuracy") is not None]
        for record in records:
            for key in ("method", "target"):
                if not isinstance(record.get(key), str):
                    where = f"{record.get('suite')}/{record.get('cell')}"
                    raise KdssError(f"result {where}: key {key!r} is missing; re-run the cell")
        planned_cells = [dict(cell) for cell in planned or () if isinstance(cell, Mapping)]
        self.varying = tuple(key for key in SETTING_KEYS if len(_distinct([*records, *planned_cells], key)) > 1)
        """Settings with more than one value among the rows (they split rows or columns, see the module doc)."""
        self.row_axes, self.column_axes = _layout(self.varying, row_axes, column_axes)
        self.settings = {key: _summary(records, key) for key in SETTING_KEYS}
        """Each setting's single value, ``"mixed"``, or None where no row has it."""

        method_rank = _ranker([r["method"] for r in [*records, *planned_cells] if r.get("method")], method_order,
                              last=NO_PRETRAIN)
        target_rank = _ranker([r["target"] for r in [*planned_cells, *records] if r.get("target")], target_order)
        ranks = {"method": method_rank, "target": target_rank}
        for axis in ("model", "protocol"):  # in the order the suite lists them, not alphabetically
            ranks[axis] = _ranker([r[axis] for r in [*planned_cells, *records] if r.get(axis) is not None],
                                  PROTOCOL_ORDER if axis == "protocol" and not planned_cells else None)

        groups: dict[tuple[TableRow, TableColumn], list[Mapping[str, Any]]] = {}
        for record in records:
            groups.setdefault((self._row_of(record), self._column_of(record)), []).append(record)
        planned_count: dict[tuple[TableRow, TableColumn], int] = {}
        for cell in planned_cells:
            key = (self._row_of(cell), self._column_of(cell))
            planned_count[key] = planned_count.get(key, 0) + 1

        def order(values: tuple[tuple[str, Any], ...]) -> list:
            return [ranks[axis](value) if axis in ranks else _sort_key(value) for axis, value in values]

        self.blocked = "protocol" in self.varying and "protocol" in self.row_axes
        """Rows come in blocks per protocol (and label fraction), ranked within each."""

        def row_order(row: TableRow) -> list:
            if not self.blocked:
                return order(row.values)
            first = tuple(item for item in row.values if item[0] in BLOCK_AXES)
            return order(first) + order(tuple(item for item in row.values if item[0] not in BLOCK_AXES))

        self.rows: list[TableRow] = sorted({row for row, _ in (*groups, *planned_count)}, key=row_order)
        columns = sorted({column for _, column in (*groups, *planned_count)}, key=lambda c: order(c.values))
        self.columns: list[TableColumn] = columns
        self.targets: list[str] = [column.label for column in columns]
        """Column labels (the target names in the default layout)."""
        self.methods: list[str] = list(dict.fromkeys(row.method for row in self.rows if row.method is not None))

        finished = {(r.get("suite"), r.get("cell")) for r in records}
        self.missing: list[str] = [str(c.get("cell")) for c in planned_cells
                                   if (c.get("suite", self.settings["suite"]), c.get("cell")) not in finished]
        """Planned cells without a readable result, in plan order."""
        self.planned_total = len(planned_cells)
        self.problems = dict(problems or {})

        cells: dict[tuple[TableRow, str], TableCell] = {}
        for (row, column), members in groups.items():
            mean, std, n = mean_std(float(member["accuracy"]) for member in members)
            seeds = tuple(member.get("seed") for member in members)
            settings = {key: _summary(members, key) for key in SETTING_KEYS}
            values = tuple(float(member["accuracy"]) for member in members)
            cells[(row, column.label)] = TableCell(row, column.label, mean, std, n, seeds, settings,
                                                   planned=planned_count.get((row, column)), values=values)
        self._cells = _mark_best(cells, self.targets, by_block=self.blocked)
        self._evaluations: dict[str, list[str]] = {}
        """Protocol -> the evaluations its results ran (``finetune``, ``lbfgs_probe``)."""
        for record in records:
            if record.get("protocol") is not None:
                found = self._evaluations.setdefault(str(record["protocol"]), [])
                if record.get("eval") not in found:
                    found.append(str(record.get("eval")))
        self.ranks: dict[TableRow, float] = {}
        """Each row's mean rank within its block (1 = best), where rows come in protocol blocks."""
        self.agreements: list[Agreement] = []
        """Kendall's tau between blocks that differ only in the protocol."""
        if self.blocked:
            means = {(row.settings, row.method): {target: cell.mean for (r, target), cell in self._cells.items()
                                                  if r == row}
                     for row in self.rows if row.method is not None}
            by_key = block_ranks(means)
            self.ranks = {row: by_key[(row.settings, row.method)] for row in self.rows
                          if (row.settings, row.method) in by_key}
            self.agreements = agreements(by_key)

    def _row_of(self, record: Mapping[str, Any]) -> TableRow:
        values = tuple((axis, record.get(axis)) for axis in self.row_axes)
        method = next((value for axis, value in values if axis == "method"), None)
        return TableRow(method, tuple(item for item in values if item[0] != "method"))

    def _column_of(self, record: Mapping[str, Any]) -> TableColumn:
        return TableColumn(tuple((axis, record.get(axis)) for axis in self.column_axes))

    def row_of(self, record: Mapping[str, Any]) -> TableRow:
        """The row a result (or a planned cell) falls in."""
        return self._row_of(record)

    def column_of(self, record: Mapping[str, Any]) -> TableColumn:
        """The column a result (or a planned cell) falls in; its ``label`` names it in :meth:`cell`."""
        return self._column_of(record)

    # -- access ----------------------------------------------------------------------------

    @property
    def title(self) -> str:
        suite = self.settings["suite"]
        return suite if isinstance(suite, str) and suite != "mixed" else "results"

    def cell(self, row: TableRow | str, target: str) -> TableCell | None:
        """The cell of a row (or of a method's only row) and a column label; None where there is no result."""
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
        if self.blocked:  # the protocol says how each row was evaluated
            keys = tuple(key for key in keys if key not in ("eval", "protocol", "label_fraction"))
            parts.append(self._protocols_text())
        parts += [f"{key}: {self.settings[key]}" for key in keys if self.settings[key] is not None]
        if self.missing:
            parts.insert(0, self.completeness)
        if self.blocked:
            parts.append("rank: mean place within the block over its columns (1 = best)")
            parts += [self.agreement_text(agreement) for agreement in self.agreements]
        return "; ".join(parts)

    def _protocols_text(self) -> str:
        shown = []
        order = _ranker(list(self._evaluations), PROTOCOL_ORDER)
        for protocol, evaluations in sorted(self._evaluations.items(), key=lambda item: order(item[0])):
            how = PROTOCOL_TEXT.get(protocol, "")
            shown.append(f"{protocol} = {how.format(eval='/'.join(evaluations))}" if how else protocol)
        return "protocols: " + "; ".join(shown) + "; labels: the fraction of each target's training labels used"

    def block_label(self, block: tuple[tuple[str, Any], ...]) -> str:
        return ", ".join(f"{AXIS_NAMES.get(key, key)} {value}" for key, value in block if value is not None) or "all"

    def agreement_text(self, agreement: Agreement) -> str:
        """``rank agreement protocol krr_st vs protocol mkdt (labels 0.05): Kendall's tau +0.33 over 4 methods``."""
        first = {key: value for key, value in agreement.first if key == "protocol"}
        second = {key: value for key, value in agreement.second if key == "protocol"}
        shared = tuple(item for item in agreement.first if item[0] != "protocol")
        where = f" ({self.block_label(shared)})" if shared else ""
        tau = "n/a" if math.isnan(agreement.tau) else f"{agreement.tau:+.2f}"
        return (f"rank agreement protocol {first.get('protocol')} vs {second.get('protocol')}{where}: "
                f"Kendall's tau {tau} over {agreement.methods} methods")

    def rank_text(self, row: TableRow) -> str:
        rank = self.ranks.get(row)
        return MISSING if rank is None else f"{rank:.2f}".rstrip("0").rstrip(".")

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

    @property
    def row_header(self) -> str:
        return " · ".join(axis.capitalize() if axis == "method" else AXIS_NAMES.get(axis, axis)
                          for axis in self.row_axes) or "Row"

    # -- renderers -------------------------------------------------------------------------

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table (best mean per column in bold) and the footer line."""
        ranked = ["rank"] if self.blocked else []
        header = [self.row_header, *self.targets, *ranked]
        lines = [
            "| " + " | ".join(_md_escape(name) for name in header) + " |",
            "| :--- |" + "".join(" ---: |" for _ in [*self.targets, *ranked]),
        ]
        for row in self.rows:
            texts = []
            for target in self.targets:
                cell = self._cells.get((row, target))
                text = self.cell_text(cell)
                texts.append(f"**{text}**" if cell is not None and cell.best else text)
            if self.blocked:
                texts.append(self.rank_text(row))
            lines.append("| " + " | ".join([_md_escape(row.label), *texts]) + " |")
        return "\n".join(lines) + "\n\n" + self.footer + "\n"

    def to_csv(self) -> str:
        """One line per present cell: method,target,mean,std,n then seeds, best and the settings."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
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
            "\\begin{tabular}{l" + "r" * (len(self.targets) + self.blocked) + "}",
            "\\toprule",
            " & ".join([self.row_header, *(_tex_escape(target) for target in self.targets),
                        *(["rank"] if self.blocked else [])]) + " \\\\",
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
            if self.blocked:
                texts.append(self.rank_text(row))
            lines.append(" & ".join([_tex_escape(row.label), *texts]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_rich(self) -> Table:
        """A ``rich.table.Table`` for the terminal: title = suite, caption = footer, best in bold."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, caption=self.footer, caption_justify="left")
        table.add_column(self.row_header, no_wrap=True)
        for target in self.targets:
            table.add_column(target, justify="right", no_wrap=True)
        if self.blocked:
            table.add_column("rank", justify="right", no_wrap=True)
        previous = None
        for row in self.rows:
            texts = []
            for target in self.targets:
                cell = self._cells.get((row, target))
                style = "bold" if cell is not None and cell.best else ("dim" if cell is None else "")
                texts.append(Text(self.cell_text(cell), style=style))
            if self.blocked:
                texts.append(Text(self.rank_text(row)))
                block = tuple(item for item in row.settings if item[0] in BLOCK_AXES)
                if previous is not None and block != previous:
                    table.add_section()
                previous = block
            table.add_row(Text(row.label, style="dim" if row.method == NO_PRETRAIN else ""), *texts)
        return table

    # -- internals -------------------------------------------------------------------------

    def _keys(self) -> list[tuple[TableRow, str]]:
        return [(row, target) for row in self.rows for target in self.targets]

    def _records(self) -> list[dict[str, Any]]:
        """One object per present cell: every axis value, then the statistics and the settings."""
        records = []
        columns = {column.label: column for column in self.columns}
        for cell in self.cells():
            axes = dict(cell.row.values) | dict(columns[cell.target].values)
            records.append({
                "method": axes.get("method", cell.settings.get("method")),
                "target": axes.get("target", cell.settings.get("target")),
                "mean": finite_or_none(cell.mean),
                "std": finite_or_none(cell.std),
                "n": cell.n,
                "seeds": list(cell.seeds),
                "best": cell.best,
                "planned": cell.planned,
                **{key: axes.get(key, cell.settings[key]) for key in SETTING_KEYS},
                "rank": self.ranks.get(cell.row),
            })
        return records


def _layout(varying: Sequence[str], rows: Sequence[str] | None, columns: Sequence[str] | None
            ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Row and column axes: by default method then the varying settings as rows, the target as columns;
    a varying axis the caller placed nowhere joins the rows (rows are never averaged over it)."""
    for axes, what in ((rows, "--rows"), (columns, "--columns")):
        unknown = [axis for axis in axes or () if axis not in AXES]
        if unknown:
            raise KdssError(f"{what} {','.join(axes)}: unknown axis '{unknown[0]}'; choose from {', '.join(AXES)}")
    column_axes = tuple(columns) if columns else ("target",)
    if "protocol" in varying:  # each protocol has its own evaluation: 'eval' adds nothing to the rows
        varying = tuple(axis for axis in varying if axis != "eval")
    default_rows = ("method", *(axis for axis in AXES if axis in varying and axis not in ("method", "target")))
    row_axes = tuple(rows) if rows else tuple(axis for axis in default_rows if axis not in column_axes)
    overlap = set(row_axes) & set(column_axes)
    if overlap:
        raise KdssError(f"axis '{sorted(overlap)[0]}' is both a row and a column; name it in --rows or --columns")
    placed = set(row_axes) | set(column_axes)
    extra = tuple(axis for axis in AXES if (axis in ("method", "target") or axis in varying) and axis not in placed)
    return tuple(dict.fromkeys(row_axes + extra)), column_axes


def tables_by_suite(
    rows: Iterable[Mapping[str, Any]],
    *,
    method_order: Sequence[str] | None = None,
    target_order: Sequence[str] | None = None,
    planned: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    problems: Mapping[str, str] | None = None,
    row_axes: Sequence[str] | None = None,
    column_axes: Sequence[str] | None = None,
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
                                      if key.split("/", 1)[0] == suite},
                            row_axes=row_axes, column_axes=column_axes)
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

    def rank(name: Any) -> tuple[int, int, str]:
        if name in given:
            return (0, given[name], "")
        if name == last:
            return (2, 0, "")
        return (1, appearance.get(name, len(appearance)), str(name))

    return rank


def _sort_key(value: Any) -> tuple[int, Any]:
    """Orders setting values: numbers ascending, then text, then None; never compares mixed types."""
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _mark_best(
    cells: dict[tuple[TableRow, str], TableCell], targets: Sequence[str], *, by_block: bool = False
) -> dict[tuple[TableRow, str], TableCell]:
    """Marks the highest mean per column (per block of rows with ``by_block``; ties at the shown precision all
    marked); a column with a single value marks nothing: "best" needs something to be better than."""
    marked = dict(cells)
    blocks = dict.fromkeys(row.settings if by_block else () for row, _ in cells)
    for block in blocks:
        for target in targets:
            column = [key for key in cells if key[1] == target and math.isfinite(cells[key].mean)
                      and (not by_block or key[0].settings == block)]
            if len(column) < 2:
                continue
            top = max(round(cells[key].mean, DECIMALS) for key in column)
            for key in column:
                if round(cells[key].mean, DECIMALS) == top:
                    marked[key] = dataclasses.replace(cells[key], best=True)
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
