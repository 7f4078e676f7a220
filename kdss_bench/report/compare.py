"""``kdss-bench compare BASE NEW``: cell-by-cell accuracy differences and a regression verdict.

BASE and NEW are each a results folder (a results root such as ``results/``, or one suite's
folder such as ``results/gate/``; every ``result.json`` under it is read and its per-seed
accuracies are kept) or a JSON file exported by ``kdss-bench table --format json`` (mean,
population std and n per method x target).

Cells are matched by ``(suite, method, target)``. When the two sides share no suite name (a
baseline of suite ``gate`` against a run of ``gate-dev``) they are matched by ``(method,
target)`` instead, and the report says so.

For each matched cell: base mean, new mean, the difference ``new - base`` in accuracy points and
the p-value of a two-sided Welch t-test (unequal variances): ``scipy.stats.ttest_ind`` on the
per-seed accuracies where both sides are folders, else ``scipy.stats.ttest_ind_from_stats`` with
the sample std ``std * sqrt(n / (n - 1))`` recovered from the exported population std. The
verdict:

- ``regression``: the mean drops by more than ``min_effect`` points AND ``p < alpha``;
- ``improvement``: the mean rises by more than ``min_effect`` points AND ``p < alpha``;
- ``same``: anything else.

Special cases, each a documented rule rather than a silent choice:

- **n < 2 on either side** (no variance, no test): p is ``n/a`` and the difference alone decides
  (a drop larger than ``min_effect`` is a regression, a rise larger than it an improvement).
- **zero variance on both sides** (deterministic seeds): any difference has p = 0, none p = 1.
- **a non-finite mean** (a diverged run): p is ``n/a``; a non-finite NEW against a finite BASE is
  a regression, the reverse an improvement, both non-finite ``same``.
- **a cell only in BASE** has verdict ``missing`` and counts as a regression (a cell that stopped
  producing a result must fail a gate); a cell only in NEW has verdict ``new`` and does not.

``scipy`` (a dependency of scikit-learn) is imported only when a test is computed; nothing here
imports torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.errors import KdssError
from kdss_bench.report.results_table import SETTING_KEYS
from kdss_bench.report.statistics import finite_or_none, mean_std

COMPARE_AXES = ("model", "budget", "protocol", "label_fraction")
"""Besides suite, method and target, the axes cells are matched on (a suite's grid may vary them)."""
DEFAULT_MIN_EFFECT = 1.0
DEFAULT_ALPHA = 0.05
REGRESSION, IMPROVEMENT, SAME, MISSING, NEW = "regression", "improvement", "same", "missing", "new"
FAILING = (REGRESSION, MISSING)
"""Verdicts that make ``--fail-on-regression`` exit 1."""
_TOLERANCE = 1e-9
"""Differences within this of ``min_effect`` count as equal to it (float noise of the means)."""


@dataclass(frozen=True)
class CellStats:
    """One (suite, method, target) of one side: accuracy over ``n`` seeds."""

    suite: str | None
    method: str
    target: str
    mean: float
    std: float
    """Population std (``np.std``), as ``kdss-bench table`` shows it."""
    n: int
    values: tuple[float, ...] | None = None
    """Per-seed accuracies where they are known (a results folder), None for an exported table."""
    axes: tuple[tuple[str, Any], ...] = ()
    """The cell's other axis values (eval model, budget, protocol, label fraction) that are set."""

    @property
    def label(self) -> str:
        """``krr_st`` or ``krr_st (model vgg11, budget 500)``."""
        shown = ", ".join(f"{key} {value}" for key, value in self.axes)
        return f"{self.method} ({shown})" if shown else self.method

    @property
    def sample_std(self) -> float:
        """The sample std (ddof 1) the t-test needs; NaN for n < 2."""
        if self.n < 2:
            return math.nan
        return self.std * math.sqrt(self.n / (self.n - 1))


@dataclass(frozen=True)
class Side:
    """What was loaded from one of BASE and NEW."""

    path: Path
    kind: str
    """``folder`` or ``json``."""
    cells: tuple[CellStats, ...]

    @property
    def suites(self) -> list[str | None]:
        return list(dict.fromkeys(cell.suite for cell in self.cells))

    def describe(self) -> str:
        unit = "results" if self.kind == "folder" else "table cells"
        count = sum(cell.n for cell in self.cells) if self.kind == "folder" else len(self.cells)
        suites = ", ".join(str(suite) for suite in self.suites)
        return f"{self.path} ({self.kind}, {count} {unit}; suite {suites})"


@dataclass(frozen=True)
class CellComparison:
    """One row of the report."""

    suite: str | None
    method: str
    target: str
    base: CellStats | None
    new: CellStats | None
    diff: float | None
    """``new.mean - base.mean`` in accuracy points; None where a side is missing."""
    p: float | None
    """Two-sided Welch p-value; None where no test is possible."""
    test: str
    """``seeds`` (per-seed values), ``stats`` (means, stds and counts), or ``none``."""
    verdict: str
    new_suite: str | None = None
    """NEW's suite name where it differs from BASE's (matching by method and target)."""


@dataclass
class Comparison:
    """The whole comparison: every row, how cells were matched, and the thresholds used."""

    base: Side
    new: Side
    rows: list[CellComparison]
    min_effect: float
    alpha: float
    matched_by: tuple[str, ...] = ("suite", "method", "target")
    notes: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(row.verdict == verdict for row in self.rows)

    @property
    def failed(self) -> bool:
        """True when a cell regressed or went missing: what ``--fail-on-regression`` exits 1 on."""
        return any(row.verdict in FAILING for row in self.rows)

    @property
    def summary(self) -> str:
        matched = sum(row.base is not None and row.new is not None for row in self.rows)
        counts = (f"{_plural(self.count(REGRESSION), 'regression')}, "
                  f"{_plural(self.count(IMPROVEMENT), 'improvement')}, {self.count(SAME)} same")
        outcome = "REGRESSION" if self.failed else "no regression"
        return (f"Summary: {matched} matched {'cell' if matched == 1 else 'cells'}: {counts}; "
                f"{self.count(MISSING)} missing in NEW, {self.count(NEW)} only in NEW: {outcome}.")

    def to_markdown(self) -> str:
        """The report: title, what was compared, the rule, one table row per cell, the summary line."""
        lines = [
            "## Accuracy comparison",
            "",
            f"- BASE: {self.base.describe()}",
            f"- NEW: {self.new.describe()}",
            f"- matched by: {', '.join(self.matched_by)}",
            f"- rule: regression = mean drop > {self.min_effect:g} point{'' if self.min_effect == 1 else 's'} "
            f"and p < {self.alpha:g} "
            "(two-sided Welch t-test over seeds; with n < 2 on a side, the drop alone); "
            "a cell missing in NEW counts as a regression",
            *(f"- note: {note}" for note in self.notes),
            "",
            "| suite | method | target | base | new | diff | p | verdict |",
            "| :--- | :--- | :--- | ---: | ---: | ---: | ---: | :--- |",
        ]
        varying = {axis for axis in COMPARE_AXES
                   if len({dict((row.base or row.new).axes).get(axis) for row in self.rows}) > 1}
        for row in self.rows:
            suite = str(row.suite) if row.new_suite is None else f"{row.suite} → {row.new_suite}"
            diff = "—" if row.diff is None else (f"{row.diff:+.2f}" if math.isfinite(row.diff) else "n/a")
            verdict = f"**{row.verdict}**" if row.verdict in FAILING else row.verdict
            shown = [(k, v) for k, v in (row.base or row.new).axes if k in varying]
            method = row.method + (f" ({', '.join(f'{k} {v}' for k, v in shown)})" if shown else "")
            cells = [suite, method, row.target, _stats_text(row.base), _stats_text(row.new), diff,
                     _p_text(row.p), verdict]
            lines.append("| " + " | ".join(_md_escape(text) for text in cells) + " |")
        lines += ["", "base/new: mean ± population std (n seeds) of top-1 test accuracy (%); "
                  "diff: new - base in points.", "", self.summary]
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """The same content as a JSON object (cells, summary counts, thresholds, ``regression``)."""
        payload = {
            "base": {"path": str(self.base.path), "kind": self.base.kind, "suites": self.base.suites},
            "new": {"path": str(self.new.path), "kind": self.new.kind, "suites": self.new.suites},
            "matched_by": list(self.matched_by),
            "min_effect": self.min_effect,
            "alpha": self.alpha,
            "notes": self.notes,
            "cells": [_row_record(row) for row in self.rows],
            "counts": {verdict: self.count(verdict) for verdict in (REGRESSION, IMPROVEMENT, SAME, MISSING, NEW)},
            "regression": self.failed,
            "summary": self.summary,
        }
        return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- loading --------------------------------------------------------------------------------


def load_side(path: str | os.PathLike[str], *, label: str = "BASE") -> Side:
    """Reads a results folder or a ``kdss-bench table --format json`` file; KdssError if neither."""
    path = Path(path)
    if path.is_dir():
        return Side(path, "folder", _cells_from_folder(path, label))
    if path.is_file():
        return Side(path, "json", _cells_from_export(path, label))
    raise KdssError(f"{label} {path}: not found; pass a results folder or a JSON file from "
                    "`kdss-bench table --format json`")


def _cells_from_folder(folder: Path, label: str) -> tuple[CellStats, ...]:
    """Every finished result under a results root or under one suite's folder."""
    from kdss_bench.results import load

    loaded = load(folder, use_index=False)  # a comparison reads and never writes either side
    if loaded.problems:
        key, why = next(iter(loaded.problems.items()))
        raise KdssError(f"{label} {folder}: result {key} cannot be read: {why}")
    results = loaded.records
    if not results:
        raise KdssError(f"{label} {folder}: no finished result.json under it; pass a results folder "
                        "(e.g. results or results/<suite>) or a JSON file from `kdss-bench table --format json`")
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for result in results:
        for key in ("method", "target"):
            if not isinstance(result.get(key), str):
                raise KdssError(f"{label} result {result['suite']}/{result['cell']}: key {key!r} is missing; "
                                "re-run the cell")
        groups.setdefault((result["suite"], result["method"], result["target"], _axes_of(result)), []).append(result)
    cells = []
    for (suite, method, target, axes), members in groups.items():
        _check_one_setting(members, label, suite, method, target)
        values = tuple(float(member["accuracy"]) for member in members)
        mean, std, n = mean_std(values)
        cells.append(CellStats(suite, method, target, mean, std, n, values, axes))
    return tuple(cells)


def _axes_of(record: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The set axis values of a result or an exported cell; the suite's single model and budget count
    too, so a folder and its own export match."""
    return tuple((axis, record[axis]) for axis in COMPARE_AXES if record.get(axis) is not None)


def _check_one_setting(members: list[Mapping[str, Any]], label: str, suite: Any, method: str, target: str) -> None:
    """Seeds of one cell made with different settings (an edited suite re-run) are not averaged."""
    for key in SETTING_KEYS:
        if key in COMPARE_AXES:
            continue
        values = {json.dumps(member.get(key), sort_keys=True) for member in members}
        if len(values) > 1:
            raise KdssError(f"{label}: suite {suite} has results of {method} on {target} with different "
                            f"{key} ({', '.join(sorted(values))}); keep the results of one setting")


def _cells_from_export(path: Path, label: str) -> tuple[CellStats, ...]:
    hint = "expected the JSON list printed by `kdss-bench table --format json`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise KdssError(f"{label} {path}: cannot read it as JSON ({error}); {hint}") from None
    if not isinstance(data, list) or not data:
        raise KdssError(f"{label} {path}: not a non-empty JSON list; {hint}")
    cells = []
    seen: set[tuple[Any, ...]] = set()
    for position, item in enumerate(data):
        where = f"{label} {path}: item {position}"
        if not isinstance(item, dict):
            raise KdssError(f"{where} is not an object; {hint}")
        for key in ("method", "target"):
            if not isinstance(item.get(key), str):
                raise KdssError(f"{where}: key {key!r} is missing or not a string; {hint}")
        n = item.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise KdssError(f"{where}: key 'n' must be a positive integer; {hint}")
        mean, std = _number(item.get("mean"), where, "mean"), _number(item.get("std"), where, "std")
        suite = item.get("suite")
        axes = _axes_of(item)
        key = (suite, item["method"], item["target"], axes)
        if key in seen:
            raise KdssError(f"{where}: a second row for {item['method']} on {item['target']} in suite {suite} "
                            "(rows split by a setting); export the results of one setting")
        seen.add(key)
        cells.append(CellStats(suite, item["method"], item["target"], mean, std, n, axes=axes))
    return tuple(cells)


def _number(value: Any, where: str, key: str) -> float:
    """A number from the export; null (how the export writes NaN, a diverged run) becomes NaN."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KdssError(f"{where}: key {key!r} must be a number or null, got {value!r}")
    return float(value)


# -- comparing ------------------------------------------------------------------------------


def compare_paths(
    base: str | os.PathLike[str],
    new: str | os.PathLike[str],
    *,
    min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = DEFAULT_ALPHA,
    methods: Sequence[str] | None = None,
) -> Comparison:
    """Loads both sides and compares them (see the module docstring for the rules).

    ``methods`` keeps only those methods' cells on both sides (for comparing an ablation suite
    that runs one method against a suite that runs them all).
    """
    base_side, new_side = load_side(base, label="BASE"), load_side(new, label="NEW")
    if methods:
        base_side, new_side = (only_methods(side, methods) for side in (base_side, new_side))
    return compare_sides(base_side, new_side, min_effect=min_effect, alpha=alpha)


def only_methods(side: Side, methods: Sequence[str]) -> Side:
    """``side`` with the cells of ``methods`` alone; a method that neither side has is an error."""
    kept = tuple(cell for cell in side.cells if cell.method in methods)
    known = {cell.method for cell in side.cells}
    if not kept:
        raise KdssError(f"--methods {','.join(methods)}: {side.path} has none of them; it has "
                        f"{', '.join(sorted(known)) or 'no results'}")
    return dataclasses.replace(side, cells=kept)


def compare_sides(base: Side, new: Side, *, min_effect: float = DEFAULT_MIN_EFFECT,
                  alpha: float = DEFAULT_ALPHA) -> Comparison:
    if not (min_effect >= 0 and math.isfinite(min_effect)):
        raise KdssError(f"--min-effect {min_effect}: must be a number of points >= 0")
    if not 0 < alpha < 1:
        raise KdssError(f"--alpha {alpha}: must be between 0 and 1")
    comparison = Comparison(base, new, [], min_effect, alpha)
    shared = set(base.suites) & set(new.suites)
    if shared:
        key = _key_with_suite
    else:
        key = _key_without_suite
        comparison.matched_by = ("method", "target")
        comparison.notes.append(
            f"the suite names differ (BASE: {', '.join(map(str, base.suites))}; NEW: "
            f"{', '.join(map(str, new.suites))}), so cells were matched by method and target only")
    base_cells = _by_key(base.cells, key, "BASE")
    new_cells = _by_key(new.cells, key, "NEW")
    for cell_key, base_cell in base_cells.items():
        new_cell = new_cells.get(cell_key)
        if new_cell is None:
            comparison.rows.append(CellComparison(base_cell.suite, base_cell.method, base_cell.target, base_cell,
                                                  None, None, None, "none", MISSING))
        else:
            comparison.rows.append(compare_cells(base_cell, new_cell, min_effect=min_effect, alpha=alpha))
    for cell_key, new_cell in new_cells.items():
        if cell_key not in base_cells:
            comparison.rows.append(CellComparison(new_cell.suite, new_cell.method, new_cell.target, None,
                                                  new_cell, None, None, "none", NEW))
    return comparison


def compare_cells(base: CellStats, new: CellStats, *, min_effect: float = DEFAULT_MIN_EFFECT,
                  alpha: float = DEFAULT_ALPHA) -> CellComparison:
    """One matched cell: difference, Welch p-value and verdict."""
    diff = new.mean - base.mean
    new_suite = new.suite if new.suite != base.suite else None
    if not (math.isfinite(base.mean) and math.isfinite(new.mean)):
        if math.isfinite(base.mean):
            verdict = REGRESSION
        elif math.isfinite(new.mean):
            verdict = IMPROVEMENT
        else:
            verdict = SAME
        return CellComparison(base.suite, base.method, base.target, base, new, math.nan, None, "none", verdict,
                              new_suite)
    p, test = welch_p(base, new)
    large = abs(diff) > min_effect + _TOLERANCE
    significant = p is None or p < alpha  # n < 2: no test, the effect size alone decides
    if large and significant:
        verdict = IMPROVEMENT if diff > 0 else REGRESSION
    else:
        verdict = SAME
    return CellComparison(base.suite, base.method, base.target, base, new, diff, p, test, verdict, new_suite)


def welch_p(base: CellStats, new: CellStats) -> tuple[float | None, str]:
    """Two-sided Welch t-test p-value and which data it used; ``(None, "none")`` when n < 2 on a side."""
    if base.n < 2 or new.n < 2:
        return None, "none"
    if base.values is not None and new.values is not None:
        base_var, new_var = _sample_var(base.values), _sample_var(new.values)
    else:
        base_var, new_var = base.sample_std ** 2, new.sample_std ** 2
    if not (math.isfinite(base_var) and math.isfinite(new_var)):
        return None, "none"
    if base_var == 0 and new_var == 0:  # deterministic seeds: any difference is certain
        test = "seeds" if base.values is not None and new.values is not None else "stats"
        return (1.0 if new.mean == base.mean else 0.0), test
    from scipy import stats  # imported here: loading results and --help stay light

    if base.values is not None and new.values is not None:
        result = stats.ttest_ind(new.values, base.values, equal_var=False)
        return float(result.pvalue), "seeds"
    result = stats.ttest_ind_from_stats(new.mean, new.sample_std, new.n, base.mean, base.sample_std, base.n,
                                        equal_var=False)
    return float(result.pvalue), "stats"


def _sample_var(values: Iterable[float]) -> float:
    numbers = list(values)
    mean = math.fsum(numbers) / len(numbers)
    return math.fsum((value - mean) ** 2 for value in numbers) / (len(numbers) - 1)


def _key_with_suite(cell: CellStats) -> tuple[Any, ...]:
    return (cell.suite, cell.method, cell.target, cell.axes)


def _key_without_suite(cell: CellStats) -> tuple[Any, ...]:
    return (cell.method, cell.target, cell.axes)


def _by_key(cells: Iterable[CellStats], key, label: str) -> dict[tuple[Any, ...], CellStats]:
    keyed: dict[tuple[Any, ...], CellStats] = {}
    for cell in cells:
        cell_key = key(cell)
        if cell_key in keyed:
            raise KdssError(f"{label}: {cell.method} on {cell.target} appears in suites {keyed[cell_key].suite} and "
                            f"{cell.suite}, and the two sides share no suite name; compare one suite at a time")
        keyed[cell_key] = cell
    return keyed


# -- rendering helpers ----------------------------------------------------------------------


def _stats_text(cell: CellStats | None) -> str:
    if cell is None:
        return "—"
    if not math.isfinite(cell.mean):
        return f"n/a (n={cell.n})"
    return f"{cell.mean:.2f} ± {cell.std:.2f} (n={cell.n})"


def _p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _row_record(row: CellComparison) -> dict[str, Any]:
    def side(cell: CellStats | None) -> dict[str, Any] | None:
        if cell is None:
            return None
        return {"suite": cell.suite, "mean": finite_or_none(cell.mean), "std": finite_or_none(cell.std),
                "n": cell.n, "values": None if cell.values is None else list(cell.values)}

    return {
        "suite": row.suite,
        "new_suite": row.new_suite,
        "method": row.method,
        "target": row.target,
        **dict((row.base or row.new).axes),
        "base": side(row.base),
        "new": side(row.new),
        "diff": None if row.diff is None else finite_or_none(row.diff),
        "p": row.p,
        "test": row.test,
        "verdict": row.verdict,
    }



def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")
