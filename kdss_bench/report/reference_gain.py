"""How much each method gains over a reference row of the same suite (``no_pretrain`` by default).

Bold in a table only says "highest mean"; whether a method beats not pre-training at all is the
question a transfer table answers. Per target: the difference of means in accuracy points and a
two-sided test over seeds, paired by seed where both rows ran the same seeds (a seed fixes the
fine-tuning's initialisation and batches for both, so pairing removes that shared noise), else
Welch's unequal-variance t-test. With fewer than two seeds on a side there is no test.
:func:`seed_interval` gives the matching confidence interval of the gain (a t-interval of the
per-seed differences when paired, Welch's interval with Welch-Satterthwaite degrees of freedom
otherwise), so an interval excludes 0 exactly when the test's p is below ``1 - level``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kdss_bench.report.results_table import NO_PRETRAIN, ResultsTable, TableCell, TableRow

PAIRED, WELCH, NO_TEST = "paired t-test", "Welch t-test", "no test (n < 2)"


@dataclass(frozen=True)
class Gain:
    row: TableRow
    target: str
    diff: float
    """Mean accuracy of the row minus the reference's, in points."""
    p: float | None
    test: str
    n: int
    """Seeds (pairs for the paired test; the smaller side for Welch)."""
    interval: tuple[float, float] | None = None
    """The 95% confidence interval of ``diff`` by the same test (:func:`seed_interval`); None without a test."""


def gains_over(table: ResultsTable, reference: str = NO_PRETRAIN) -> list[Gain]:
    """The gain of every other row over its ``reference`` row per column where both have results ([] without
    one). A row's reference has the same settings (eval model, protocol, ...) except the budget: the reference
    distils nothing, so one no-pre-training row serves every budget."""
    references = [row for row in table.rows if row.method == reference]
    if not references:
        return []
    gains = []
    for row in table.rows:
        if row.method == reference:
            continue
        base_row = _reference_row(row, references)
        if base_row is None:
            continue
        for target in table.targets:
            cell, base = table.cell(row, target), table.cell(base_row, target)
            if cell is not None and base is not None and math.isfinite(cell.mean) and math.isfinite(base.mean):
                p, test, n = seed_test(cell, base)
                gains.append(Gain(row, target, cell.mean - base.mean, p, test, n, seed_interval(cell, base)))
    return gains


def _reference_row(row: TableRow, references: list[TableRow]) -> TableRow | None:
    wanted = {key: value for key, value in row.settings if key != "budget"}
    matches = [ref for ref in references if {k: v for k, v in ref.settings if k != "budget"} == wanted]
    return matches[0] if len(matches) == 1 else (references[0] if len(references) == 1 else None)


def seed_test(cell: TableCell, base: TableCell) -> tuple[float | None, str, int]:
    """(two-sided p, which test, n): paired by seed when both ran the same seeds, else Welch."""
    from scipy import stats  # imported here: reading results stays light

    if cell.n < 2 or base.n < 2:
        return None, NO_TEST, min(cell.n, base.n)
    differences = _paired_differences(cell, base)
    if differences is not None:
        if max(differences) == min(differences):  # no spread: any difference is certain, none is none
            return (1.0 if differences[0] == 0 else 0.0), PAIRED, len(differences)
        mine, theirs = dict(zip(cell.seeds, cell.values, strict=True)), dict(zip(base.seeds, base.values, strict=True))
        return float(stats.ttest_rel(list(mine.values()), [theirs[seed] for seed in mine]).pvalue), PAIRED, len(mine)
    if max(cell.values) == min(cell.values) and max(base.values) == min(base.values):
        return (1.0 if cell.mean == base.mean else 0.0), WELCH, min(cell.n, base.n)
    result = stats.ttest_ind(list(cell.values), list(base.values), equal_var=False)
    return float(result.pvalue), WELCH, min(cell.n, base.n)


def seed_interval(cell: TableCell, base: TableCell, level: float = 0.95) -> tuple[float, float] | None:
    """The ``level`` confidence interval of ``cell.mean - base.mean`` by the test :func:`seed_test` picks:
    paired by seed, a t-interval of the per-seed differences (n - 1 degrees of freedom); else Welch's
    interval (Welch-Satterthwaite degrees of freedom). No spread gives a zero-width interval; None with
    fewer than two seeds on a side."""
    from scipy import stats

    if cell.n < 2 or base.n < 2:
        return None
    diff = cell.mean - base.mean
    differences = _paired_differences(cell, base)
    if differences is not None:
        n = len(differences)
        mean = math.fsum(differences) / n
        spread = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
        half = 0.0 if spread == 0 else float(stats.t.ppf((1 + level) / 2, n - 1)) * spread / math.sqrt(n)
        return mean - half, mean + half
    mine, theirs = _sample_variance(cell.values) / cell.n, _sample_variance(base.values) / base.n
    if mine + theirs == 0:
        return diff, diff
    freedom = (mine + theirs) ** 2 / (mine ** 2 / (cell.n - 1) + theirs ** 2 / (base.n - 1))
    half = float(stats.t.ppf((1 + level) / 2, freedom)) * math.sqrt(mine + theirs)
    return diff - half, diff + half


def _paired_differences(cell: TableCell, base: TableCell) -> list[float] | None:
    """Per-seed differences (in seed order) when both cells ran the same named seeds, else None."""
    mine, theirs = dict(zip(cell.seeds, cell.values, strict=True)), dict(zip(base.seeds, base.values, strict=True))
    if set(mine) != set(theirs) or None in mine:
        return None
    return [mine[seed] - theirs[seed] for seed in sorted(mine, key=str)]


def _sample_variance(values: tuple[float, ...]) -> float:
    mean = math.fsum(values) / len(values)
    return math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1)


def gain_text(gain: Gain | None) -> str:
    """``+2.88 (p 0.03)``, ``-0.40 (p 0.71)``, ``+1.10`` without a test, ``—`` without results."""
    if gain is None:
        return "—"
    text = f"{gain.diff:+.2f}"
    if gain.p is not None:
        text += f" (p {gain.p:.2g})" if gain.p >= 0.001 else " (p < 0.001)"
    return text


def gains_footer(gains: list[Gain], reference: str) -> str:
    tests = sorted({(gain.test, gain.n) for gain in gains})
    described = ", ".join(f"{test} over {n} seeds" if test != NO_TEST else test for test, n in tests)
    rough = " (with 2 seeds a test has one degree of freedom: a rough guide only)" if any(
        gain.n == 2 for gain in gains) else ""
    return (f"gain over {reference}: difference of mean top-1 accuracy in points; p: two-sided {described}"
            f"{rough}; not corrected for the number of cells")


def gains_markdown(table: ResultsTable, reference: str = NO_PRETRAIN) -> str:
    """The gain table in Markdown (methods x targets), or "" when the suite has no ``reference`` row."""
    gains = gains_over(table, reference)
    if not gains:
        return ""
    by_key = {(gain.row, gain.target): gain for gain in gains}
    rows = [row for row in table.rows if row.method != reference]
    lines = [f"Gain over {reference}", "", "| Method | " + " | ".join(table.targets) + " |",
             "| :--- |" + "".join(" ---: |" for _ in table.targets)]
    for row in rows:
        lines.append("| " + " | ".join([row.label, *(gain_text(by_key.get((row, t))) for t in table.targets)]) + " |")
    return "\n".join(lines) + "\n\n" + gains_footer(gains, reference) + "\n"
