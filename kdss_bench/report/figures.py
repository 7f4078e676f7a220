"""The report's figures, one function per figure, each returning a matplotlib ``Figure``.

Every function takes :class:`kdss_bench.results.Results` (``kdss_bench.results.load(DIR)``) and the
suite to draw (optional when the results hold one suite), and draws what exists: a partly finished
suite gives the finished part. A figure with nothing to draw raises :class:`NothingToDraw` (a
``KdssError``) saying why. Figures are plain ``matplotlib.figure.Figure`` objects on the Agg canvas,
not registered with pyplot, so nothing global changes: show one in a notebook by leaving it as a
cell's value, or ``fig.savefig("accuracy.png")``. One fixed colour per method in every figure
(:func:`method_colour`), no pre-training grey.

    from kdss_bench.results import load
    from kdss_bench.report import figures
    results = load("results")
    figures.accuracy_bars(results, "cifar10-transfer").savefig("bars.png")

Needs matplotlib (``pip install "kdss-bench[report]"``); importing this module without it raises
a KdssError that says so.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from kdss_bench.errors import KdssError
from kdss_bench.report.reference_gain import gains_over
from kdss_bench.report.results_table import AXIS_NAMES, NO_PRETRAIN, ResultsTable, TableRow
from kdss_bench.report.suite_artifacts import (
    CostSummary,
    distill_losses,
    latest_losses,
    preview_images,
    record_costs,
    set_images,
    suite_cells,
)
from kdss_bench.results import Results

try:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ImportError:  # pragma: no cover - exercised by the CLI test with matplotlib hidden
    raise KdssError('the report needs matplotlib: pip install "kdss-bench[report]" (or pip install matplotlib)'
                    ) from None

__all__ = ["AXES", "NothingToDraw", "accuracy_bars", "accuracy_by_axis", "gain_intervals", "loss_curves",
           "method_colour", "stage_costs", "synthetic_images"]

AXES = ("budget", "model", "protocol", "label_fraction")
"""The grid axes :func:`accuracy_by_axis` can draw accuracy against."""
NUMERIC_AXES = ("budget", "label_fraction")
WIDTH_IN = 11.0
"""Every figure is this wide (inches): at the report's 100 dpi per inch it fills a 1100-pixel column."""
GREY = "#7f7f7f"
METHOD_COLOURS = {
    "krr_st": "#d62728", "random": "#1f77b4", "kmeans": "#ff7f0e", "dsa": "#2ca02c", "dm": "#9467bd",
    "mtt": "#8c564b", "kip": "#e377c2", "frepo": "#bcbd22", "mkdt": "#17becf", "import": "#393b79",
    "gaussian": "#637939", NO_PRETRAIN: GREY,
}
"""The registered methods' colours (tab10, KRR-ST red, no pre-training grey); other names get one of
:data:`EXTRA_COLOURS` chosen by a hash of the name, so a method keeps its colour across figures and runs."""
EXTRA_COLOURS = ("#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#ad494a",
                 "#8ca252", "#bd9e39", "#a55194", "#6baed6")
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
STYLE = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10,
    "legend.fontsize": 10, "figure.titlesize": 13, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True, "figure.dpi": 100, "savefig.dpi": 100,
}


def _styled(draw):
    """Runs a figure function under the report's style (fonts, grid) without touching global settings."""

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return styled


class NothingToDraw(KdssError):
    """The results hold nothing this figure shows (no such axis, no logged losses, ...)."""


def method_colour(method: str | None) -> str:
    """The method's fixed colour (grey for no pre-training)."""
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    return EXTRA_COLOURS[zlib.crc32(str(method).encode("utf-8")) % len(EXTRA_COLOURS)]


# -- 1. accuracy per target --------------------------------------------------------------------------


@_styled
def accuracy_bars(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None,
                  reference: str = NO_PRETRAIN) -> Figure:
    """Per target, a bar per table row (method, and its settings where they vary): the mean top-1 accuracy
    with an error bar of the population std over seeds (as the table); ``reference`` (no pre-training) is a
    grey dashed line over the bars it is compared with, its std a grey band. One bar series per method."""
    name, table, _ = _suite_table(results, suite, method_order)
    bars = [row for row in table.rows if row.method != reference]
    references = [row for row in table.rows if row.method == reference]
    if not table.cells():
        raise NothingToDraw(f"suite {name}: no finished results to draw")
    groups = _reference_groups(bars, references)
    by_budget = "budget" in table.varying
    positions, ticks, spans = {}, [], []
    x = 0.0
    for refs, members in groups:
        start = x
        for row in members:
            positions[row] = x
            budget = dict(row.settings).get("budget")
            ticks.append((x, f"budget {budget}" if by_budget and budget is not None else str(row.method)))
            x += 1.0
        shared = ", ".join(f"{AXIS_NAMES.get(k, k)} {v}" for k, v in (members[0].settings if members else ())
                           if k != "budget" and v is not None)
        spans.append((refs, start - 0.5, x - 0.5, shared))
        x += 0.6
    columns = _columns(len(table.targets), 4 if len(bars) <= 4 else 3 if len(bars) <= 6 else 2)
    longest = max((len(label) for _, label in ticks), default=0)
    rotate = len(ticks) > 2 and (longest > 8 or len(ticks) * 2 > 16 / columns * 2)
    grouped = len(spans) > 1 and any(shared for *_, shared in spans)
    fig, axes = _grid(len(table.targets), columns,
                      height=2.9 + (0.065 * longest if rotate else 0.2) + (0.45 if grouped else 0))
    for ax, target in zip(axes, table.targets, strict=False):
        top = 0.0
        for method in _methods(bars):
            rows = [row for row in bars if row.method == method and table.cell(row, target) is not None]
            cells = [table.cell(row, target) for row in rows]
            if not rows:
                continue
            drawn = ax.bar([positions[row] for row in rows], [cell.mean for cell in cells], width=0.75,
                           yerr=[cell.std for cell in cells], capsize=3, color=method_colour(method), label=method,
                           error_kw={"elinewidth": 1.2, "ecolor": "#333333"})
            ax.bar_label(drawn, labels=[f"{cell.mean:.1f}" for cell in cells], label_type="center",
                         color="white", fontsize=10, fontweight="bold",
                         rotation=90 if len(bars) > 4 * (4 // columns) else 0)
            top = max([top, *(cell.mean + cell.std for cell in cells if math.isfinite(cell.mean))])
        for row in bars:
            if table.cell(row, target) is None:
                ax.text(positions[row], 0.5, "no result", rotation=90, ha="center", va="bottom", fontsize=9,
                        color="#555555")
        for index, (refs, left, right, _) in enumerate(spans):
            base = table.cell(refs, target) if refs is not None else None
            if base is None or not math.isfinite(base.mean):
                continue
            ax.fill_between([left, right], base.mean - base.std, base.mean + base.std, color=GREY, alpha=0.18,
                            linewidth=0)
            ax.hlines(base.mean, left, right, colors=GREY, linestyles="--", linewidth=2,
                      label=reference if index == 0 else None)
            top = max(top, base.mean + base.std)
        ax.set_title(target)
        ax.set_ylim(0, min(100.0, top * 1.12 + 1) if top > 0 else 1)
        ax.set_xticks([tick for tick, _ in ticks], [label for _, label in ticks], rotation=40 if rotate else 0,
                      ha="right" if rotate else "center", rotation_mode="anchor")
        ax.set_xlim(-0.6, x - 0.6 - 0.4)
        ax.grid(axis="x", visible=False)
        if grouped:  # each group's shared settings under its bars (the reference line spans the same bars)
            for left, right, shared in ((left, right, shared) for _, left, right, shared in spans):
                ax.annotate(shared.replace(", ", "\n"), xy=((left + right) / 2, 0), xycoords=("data", "axes fraction"),
                            xytext=(0, -8 - (0.065 * longest * 72 if rotate else 16)), textcoords="offset points",
                            ha="center", va="top", fontsize=9, color="#333333")
    for ax in axes[::columns]:
        ax.set_ylabel("top-1 accuracy (%)")
    _legend(fig, axes)
    return fig


# -- 2. gain over the reference ------------------------------------------------------------------------


@_styled
def gain_intervals(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None,
                   reference: str = NO_PRETRAIN) -> Figure:
    """Per target, each row's gain over ``reference`` in accuracy points with its 95% confidence interval
    (:func:`kdss_bench.report.reference_gain.seed_interval`: paired t-interval over seeds where both rows
    ran the same seeds, else Welch's); a hollow marker where a side has one seed (no interval)."""
    name, table, _ = _suite_table(results, suite, method_order)
    gains = gains_over(table, reference)
    if not gains:
        raise NothingToDraw(f"suite {name}: no {reference} results to compare with")
    rows = list(dict.fromkeys(gain.row for gain in gains))
    by_key = {(gain.row, gain.target): gain for gain in gains}
    targets = [target for target in table.targets if any(gain.target == target for gain in gains)]
    columns = _columns(len(targets), 4)
    fig, axes = _grid(len(targets), columns, height=1.3 + 0.42 * len(rows), sharey=True)
    y = {row: len(rows) - 1 - index for index, row in enumerate(rows)}
    for ax, target in zip(axes, targets, strict=False):
        for method in _methods(rows):
            found = [by_key[(row, target)] for row in rows if row.method == method and (row, target) in by_key]
            if not found:
                continue
            with_ci = [gain for gain in found if gain.interval is not None]
            without = [gain for gain in found if gain.interval is None]
            colour = method_colour(method)
            if with_ci:
                ax.errorbar([gain.diff for gain in with_ci], [y[gain.row] for gain in with_ci],
                            xerr=[[gain.diff - gain.interval[0] for gain in with_ci],
                                  [gain.interval[1] - gain.diff for gain in with_ci]],
                            fmt="o", color=colour, ecolor=colour, elinewidth=2, capsize=4, markersize=7,
                            label=method)
            if without:
                ax.plot([gain.diff for gain in without], [y[gain.row] for gain in without], "o", color=colour,
                        markerfacecolor="white", markersize=7, label=None if with_ci else method)
        ax.axvline(0, color=GREY, linestyle="--", linewidth=1.5)
        ax.set_title(target)
        ax.set_xlabel(f"gain over {reference} (points)")
        ax.set_yticks(list(y.values()), [_short_label(row, table) for row in y])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.grid(axis="y", visible=False)
    _legend(fig, axes)
    return fig


# -- 3. accuracy against an axis ------------------------------------------------------------------------


@_styled
def accuracy_by_axis(results: Results, suite: str | None = None, *, axis: str = "budget",
                     method_order: Sequence[str] | None = None, reference: str = NO_PRETRAIN) -> Figure:
    """Per target, the mean accuracy (± population std over seeds) against ``axis`` (budget, model,
    protocol or label_fraction), one line per method (and per value of the other varying settings). A
    reference row without a value of the axis (no pre-training has no budget) is a grey dashed line."""
    if axis not in AXES:
        raise KdssError(f"axis {axis!r}: choose from {', '.join(AXES)}")
    name, table, _ = _suite_table(results, suite, method_order)
    if axis not in table.varying:
        raise NothingToDraw(f"suite {name} varies no {AXIS_NAMES.get(axis, axis)}")
    series: dict[tuple[str | None, tuple], list[TableRow]] = {}
    flat: list[TableRow] = []
    for row in table.rows:
        settings = dict(row.settings)
        if settings.get(axis) is None:
            flat.append(row)
            continue
        series.setdefault((row.method, tuple(item for item in row.settings if item[0] != axis)), []).append(row)
    values = list(dict.fromkeys(dict(row.settings)[axis] for rows in series.values() for row in rows))
    numeric = axis in NUMERIC_AXES and all(isinstance(v, (int, float)) for v in values)
    if numeric:
        values = sorted(values)
    place = {value: (float(value) if numeric else float(index)) for index, value in enumerate(values)}
    styles = _style_per_setting(list(series))
    columns = _columns(len(table.targets), 3 if len(values) > 3 else 4)
    fig, axes = _grid(len(table.targets), columns, height=3.5)
    dodge = 0.0 if numeric else 0.5 / max(1, len(series))
    for ax, target in zip(axes, table.targets, strict=False):
        for index, ((method, others), rows) in enumerate(series.items()):
            points = [(place[dict(row.settings)[axis]], table.cell(row, target)) for row in rows]
            points = sorted((x, cell) for x, cell in points if cell is not None)
            if not points:
                continue
            shift = 0.0 if numeric else (index - (len(series) - 1) / 2) * dodge
            linestyle, marker = styles[(method, others)]
            ax.errorbar([x + shift for x, _ in points], [cell.mean for _, cell in points],
                        yerr=[cell.std for _, cell in points], color=method_colour(method), marker=marker,
                        linestyle=linestyle if numeric else "none", capsize=3, linewidth=2, markersize=6,
                        label=_series_label(method, others))
        for row in flat:
            cell = table.cell(row, target)
            if cell is not None and math.isfinite(cell.mean):
                ax.axhline(cell.mean, color=method_colour(row.method), linestyle="--", linewidth=2,
                           label=_series_label(row.method, tuple(item for item in row.settings if item[0] != axis)))
                ax.axhspan(cell.mean - cell.std, cell.mean + cell.std, color=method_colour(row.method), alpha=0.12,
                           linewidth=0)
        if numeric:
            if axis == "budget" or (min(values) > 0 and max(values) / min(values) >= 8):
                ax.set_xscale("log")
            ax.set_xticks([place[v] for v in values], [_axis_value(axis, v) for v in values])
            ax.minorticks_off()
        else:
            ax.set_xticks([place[v] for v in values], [_axis_value(axis, v) for v in values],
                          rotation=20 if len(values) > 3 else 0)
            ax.set_xlim(-0.6, len(values) - 0.4)
        ax.set_xlabel({"budget": "distilled images (budget)", "model": "evaluation model",
                       "protocol": "evaluation protocol", "label_fraction": "labelled fraction"}[axis])
        ax.set_title(target)
    for ax in axes[::columns]:
        ax.set_ylabel("top-1 accuracy (%)")
    _legend(fig, axes)
    return fig


# -- 4. loss curves ------------------------------------------------------------------------------------


@_styled
def loss_curves(results: Results, suite: str | None = None, *, stage: str = "distill",
                method_order: Sequence[str] | None = None) -> Figure:
    """``stage="distill"``: one panel per method, the loss its distillation logged per outer step (a line
    per budget where budgets vary; each panel its own scale: the methods' losses are different quantities).
    An evaluation stage (``finetune``, ``lbfgs_probe``): one panel per target, a line per method (and
    setting) with the mean loss over seeds per step and the seeds' range as a band."""
    name, table, selected = _suite_table(results, suite, method_order)
    if stage == "distill":
        return _distill_curves(name, table, selected)
    return _evaluation_curves(name, table, selected, stage)


def distill_curve_sets(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None
                       ) -> list[tuple[str, str, Any]]:
    """``(method, label, LossSeries)`` for every distillation with a logged loss, in table order (what
    ``loss_curves(stage="distill")`` draws)."""
    name, table, selected = _suite_table(results, suite, method_order)
    return _distill_sets(name, table, selected)


def _distill_sets(name: str, table: ResultsTable, selected: Results) -> list[tuple[str, str, Any]]:
    cells = _cell_info(name, selected)
    curves = distill_losses(selected.root, name, [cell for cell in suite_cells(selected.root, name) if cell in cells])
    found = []
    for key, series in curves.items():
        info = cells[series.cell]
        label = f"budget {info['budget']}" if "budget" in table.varying and info.get("budget") is not None else ""
        found.append((str(info.get("method")), label, series, key))
    order = {method: index for index, method in enumerate(table.methods)}
    found.sort(key=lambda item: (order.get(item[0], len(order)), _number_or_text(item[1])))
    return [(method, label, series) for method, label, series, _ in found]


def _distill_curves(name: str, table: ResultsTable, selected: Results) -> Figure:
    found = _distill_sets(name, table, selected)
    if not found:
        raise NothingToDraw(f"suite {name}: no distillation logged a loss (methods that only select images, "
                            "such as random or kmeans, have none)")
    methods = list(dict.fromkeys(method for method, _, _ in found))
    columns = _columns(len(methods), 3)
    fig, axes = _grid(len(methods), columns, height=3.0, width=min(WIDTH_IN, max(6.0, columns * WIDTH_IN / 3)))
    for ax, method in zip(axes, methods, strict=False):
        mine = [(label, series) for m, label, series in found if m == method]
        colour = method_colour(method)
        for index, (label, series) in enumerate(mine):
            steps, smooth = running_mean(series.steps, series.losses)
            style = LINE_STYLES[index % len(LINE_STYLES)]
            if len(smooth) < len(series.losses):  # noisy per-step losses: faint raw values, bold running mean
                ax.plot(series.steps, series.losses, color=colour, linewidth=0.8, alpha=0.3, linestyle=style)
            ax.plot(steps, smooth, color=colour, linewidth=2, linestyle=style, label=method if index == 0 else None)
            if label:
                ax.annotate(label, (steps[-1], smooth[-1]), textcoords="offset points", xytext=(4, 0), fontsize=9,
                            color="#333333", va="center")
        _log_if_wide(ax, [loss for _, series in mine for loss in series.losses])
        ax.set_title(method)
        ax.set_xlabel("outer step")
    for ax in axes[::columns]:
        ax.set_ylabel("distillation loss")
    _legend(fig, axes)
    return fig


def _evaluation_curves(name: str, table: ResultsTable, selected: Results, stage: str) -> Figure:
    import numpy as np

    drawn = []
    for target in table.targets:
        lines = []
        for row in table.rows:
            members = [record for record in selected.records
                       if table.row_of(record) == row and table.column_of(record).label == target]
            curves = [latest_losses(selected.root, name, str(record["cell"]), stage,
                                    key=_evaluation_key(record)) for record in members]
            curves = [curve for curve in curves if curve is not None]
            if curves:
                lines.append((row, curves))
        if lines:
            drawn.append((target, lines))
    if not drawn:
        raise NothingToDraw(f"suite {name}: no {stage} losses in the cells' events")
    columns = _columns(len(drawn), 4 if len(drawn) <= 4 else 3)
    fig, axes = _grid(len(drawn), columns, height=3.2)
    styles = _style_per_setting([(row.method, row.settings) for row in table.rows])
    for ax, (target, lines) in zip(axes, drawn, strict=False):
        values = []
        for row, curves in lines:
            steps = sorted(set.intersection(*(set(curve.steps) for curve in curves)))
            if not steps:
                continue
            stacked = np.array([[dict(zip(curve.steps, curve.losses, strict=True))[step] for step in steps]
                                for curve in curves])
            colour = method_colour(row.method)
            ax.plot(steps, stacked.mean(axis=0), color=colour, linewidth=1.8,
                    linestyle=styles[(row.method, row.settings)][0], label=_short_label(row, table))
            if len(curves) > 1:
                ax.fill_between(steps, stacked.min(axis=0), stacked.max(axis=0), color=colour, alpha=0.15,
                                linewidth=0)
            values += list(stacked.ravel())
        _log_if_wide(ax, values)
        ax.set_title(target)
        ax.set_xlabel("iteration")
    for ax in axes[::columns]:
        ax.set_ylabel(f"{stage} training loss")
    _legend(fig, axes)
    return fig


# -- 5. synthetic images ----------------------------------------------------------------------------


@_styled
def synthetic_images(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None,
                     count: int = 40, per_row: int = 10) -> Figure:
    """A grid of the first ``count`` synthetic images of each distilled set (per method, and per budget
    where budgets vary), read from the set in ``.cache/distill`` and de-normalised as its manifest says
    (clipped to [0, 1]); where the set is gone, the cells' ``preview.npz`` (each image min-max scaled)."""
    sets = image_sets(results, suite, method_order=method_order, count=count)
    if not sets:
        name = _suite_name(results, suite)
        raise NothingToDraw(f"suite {name}: no distilled set or preview to show")
    columns = 1 if len(sets) == 1 else 2
    rows_per_set = max(math.ceil(len(found.images) / per_row) for _, _, found in sets)
    width = WIDTH_IN if columns == 2 else WIDTH_IN / 2
    panel_in = (width / columns - 0.1) / min(per_row, max(len(found.images) for _, _, found in sets)) * rows_per_set
    fig, axes = _grid(len(sets), columns, height=panel_in + 0.4, width=width, legend=False)
    for ax, (method, label, found) in zip(axes, sets, strict=False):
        ax.imshow(_mosaic(found.images, per_row), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color(method_colour(method))
            spine.set_linewidth(3)
        shown = len(found.images)
        if found.size is not None:
            which = f"{shown} of {found.size}" + (", evenly spaced" if shown < found.size else "")
        else:
            which = f"{shown} (preview, min-max per image)"
        ax.set_title(f"{label}: {which}", color="#222222")
    return fig


def image_sets(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None,
               count: int = 40) -> list[tuple[str, str, Any]]:
    """``(method, label, SetImages)`` per distilled set that can be shown, in table order (a set that serves
    several rows, e.g. several eval models or protocols, once)."""
    name, table, selected = _suite_table(results, suite, method_order)
    cells = _cell_info(name, selected)
    sets: list[tuple[str, str, Any]] = []
    seen_keys: set[str] = set()
    seen_previews: set[tuple[Any, Any]] = set()
    for row in table.rows:
        if row.method == NO_PRETRAIN:  # distils nothing: no images
            continue
        budget = dict(row.settings).get("budget")
        members = [record for record in selected.records if table.row_of(record) == row]
        keys = list(dict.fromkeys(str(record["stages"]["distill"]) for record in members
                                  if isinstance(record.get("stages"), Mapping) and record["stages"].get("distill")))
        if keys and all(key in seen_keys for key in keys):
            continue
        found = None
        for key in keys:
            seen_keys.add(key)
            found = found or set_images(selected.root, key, count)
        if found is None:
            tag = (row.method, budget)
            owners = [cell for cell, info in cells.items() if info.get("method") == row.method
                      and (budget is None or info.get("budget") in (None, budget))]
            found = None if tag in seen_previews else preview_images(
                selected.root, name, [*(str(record["cell"]) for record in members), *owners])
            if found is None:
                continue
            seen_previews.add(tag)
        label = str(row.method) + (f" (budget {budget})" if "budget" in table.varying and budget is not None else "")
        sets.append((str(row.method), label, found))
    return sets


def _mosaic(images: Any, per_row: int) -> Any:
    import numpy as np

    count, height, width, _ = images.shape
    rows = math.ceil(count / per_row)
    gap = max(1, height // 16)
    sheet = np.full((rows * (height + gap) - gap, min(count, per_row) * (width + gap) - gap, 3), 255, np.uint8)
    for index, image in enumerate(images):
        top, left = (index // per_row) * (height + gap), (index % per_row) * (width + gap)
        sheet[top:top + height, left:left + width] = image
    return sheet


# -- 6. stage costs ---------------------------------------------------------------------------------


COST_PANELS = (("teacher", "total"), ("intermediate", "total"), ("distill", "total"), ("pretrain", "mean"),
               ("evaluate", "mean"))
"""Stage kinds in pipeline order, and whether a row's wall time is its artifacts' total or the mean per run."""


def cost_summaries(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None
                   ) -> list[tuple[TableRow, str, CostSummary]]:
    """``(row, label, CostSummary)`` per table row with results: each stage behind the row's results once
    (a teacher or distilled set shared by several cells counts once per row), every evaluation."""
    name, table, selected = _suite_table(results, suite, method_order)
    found = []
    for row in table.rows:
        summary = CostSummary()
        for record in selected.records:
            if table.row_of(record) == row:
                for cost in record_costs(selected.root, record):
                    summary.add(cost)
        if summary.stages:
            found.append((row, _short_label(row, table), summary))
    return found


@_styled
def stage_costs(results: Results, suite: str | None = None, *, method_order: Sequence[str] | None = None) -> Figure:
    """Wall time (top) and peak memory (bottom) per stage and method: the teacher, intermediates and distilled
    set in total, pre-training per run and evaluation per cell (means); peak memory is the largest any of
    the row's stages of that kind recorded (RSS high-water mark on CPU, the allocator's peak on CUDA)."""
    found = cost_summaries(results, suite, method_order=method_order)
    if not found:
        raise NothingToDraw(f"suite {_suite_name(results, suite)}: no finished results with costs")
    panels = [(kind, how) for kind, how in COST_PANELS if any(s.count(kind) for _, _, s in found)]
    labels = [label for _, label, _ in found]
    fig, axes = _grid(2 * len(panels), len(panels), height=1.2 + 0.36 * len(found), sharey=True)
    y = list(range(len(found)))[::-1]
    for column, (kind, how) in enumerate(panels):
        time_ax, memory_ax = axes[column], axes[len(panels) + column]
        for method in _methods([row for row, _, _ in found]):
            mine = [(y[index], summary) for index, (row, _, summary) in enumerate(found) if row.method == method]
            times = [(at, (s.total_s(kind) if how == "total" else s.mean_s(kind))) for at, s in mine]
            times = [(at, value) for at, value in times if value is not None]
            memory = [(at, s.peak_mb(kind)) for at, s in mine if s.peak_mb(kind) is not None]
            if times:
                drawn = time_ax.barh([at for at, _ in times], [value for _, value in times], height=0.7,
                                     color=method_colour(method), label=method)
                time_ax.bar_label(drawn, labels=[seconds_text(value) for _, value in times], padding=3, fontsize=9)
            if memory:
                drawn = memory_ax.barh([at for at, _ in memory], [value for _, value in memory], height=0.7,
                                       color=method_colour(method), label=method)
                memory_ax.bar_label(drawn, labels=[f"{value:,.0f}" for _, value in memory], padding=3, fontsize=9)
        name = {"intermediate": "intermediates"}.get(kind, kind)
        per = "in total" if how == "total" else "per cell" if kind == "evaluate" else "per run"
        time_ax.set_title(f"{name}: s {per}")
        memory_ax.set_title(f"{name}: peak MB")
        for ax in (time_ax, memory_ax):
            ax.set_yticks(y, labels)
            ax.grid(axis="y", visible=False)
            ax.set_ylim(-0.6, len(found) - 0.4)
            ax.tick_params(axis="x", labelsize=9)
            ax.margins(x=0.25)  # room for the value labels right of the bars
    _legend(fig, axes)
    return fig


# -- helpers ------------------------------------------------------------------------------------------


def seconds_text(value: float) -> str:
    """``0.005 s``, ``2.6 s``, ``127 s``, ``12.5 min``, ``3.2 h``."""
    if not math.isfinite(value):
        return "—"
    if value < 0.01:
        return f"{value:.3f} s"
    if value < 10:
        return f"{value:.2g} s" if value < 1 else f"{value:.1f} s"
    if value < 600:
        return f"{value:.0f} s"
    if value < 3 * 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def save_png(fig: Figure, path: Any) -> None:
    """Writes ``fig`` as a PNG through the Agg canvas (no pyplot, no display)."""
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=STYLE["savefig.dpi"], facecolor="white")


def _suite_name(results: Results, suite: str | None) -> str:
    names = results.suites()
    if suite is not None:
        if suite not in names:
            raise KdssError(f"suite {suite!r} is not in {results.root}; suites there: {', '.join(names) or 'none'}")
        return suite
    if results.suite is not None:
        return results.suite
    if len(names) != 1:
        raise KdssError(f"{results.root} holds {len(names)} suites ({', '.join(names) or 'none'}); name one")
    return names[0]


def _suite_table(results: Results, suite: str | None, method_order: Sequence[str] | None
                 ) -> tuple[str, ResultsTable, Results]:
    name = _suite_name(results, suite)
    selected = results.select(suite=name)
    tables = selected.tables(method_order=method_order)
    if name not in tables:
        raise NothingToDraw(f"suite {name}: no results and no plan")
    return name, tables[name], selected


def _cell_info(name: str, selected: Results) -> dict[str, dict[str, Any]]:
    """Cell id -> its method, budget and other axes (from the plan, then from finished results)."""
    info = {str(cell["cell"]): dict(cell) for cell in selected.planned.get(name, [])}
    for record in selected.records:
        info.setdefault(str(record["cell"]), {}).update(record)
    return info


def _evaluation_key(record: Mapping[str, Any]) -> str | None:
    own = record.get("stage_record")
    if isinstance(own, Mapping) and own.get("key"):
        return str(own["key"])
    return str(record["config_hash"]) if record.get("config_hash") else None


def _reference_groups(bars: list[TableRow], references: list[TableRow]) -> list[tuple[TableRow | None, list[TableRow]]]:
    """Bars grouped by the reference row they are compared with (same settings but the budget), in order."""
    groups: dict[Any, tuple[TableRow | None, list[TableRow]]] = {}
    for row in bars:
        wanted = tuple(item for item in row.settings if item[0] != "budget")
        matches = [ref for ref in references if tuple(i for i in ref.settings if i[0] != "budget") == wanted]
        ref = matches[0] if len(matches) == 1 else (references[0] if len(references) == 1 else None)
        groups.setdefault(wanted if ref is not None else ("#", wanted), (ref, []))[1].append(row)
    if not groups and references:
        groups[()] = (references[0], [])
    return list(groups.values())


def _short_label(row: TableRow, table: ResultsTable) -> str:
    return row.label


def _series_label(method: str | None, others: tuple[tuple[str, Any], ...]) -> str:
    shown = ", ".join(f"{AXIS_NAMES.get(key, key)} {value}" for key, value in others if value is not None)
    return f"{method} ({shown})" if shown else str(method)


def _axis_value(axis: str, value: Any) -> str:
    if axis == "label_fraction" and isinstance(value, (int, float)):
        return f"{value * 100:g}%"
    return str(value)


def _style_per_setting(keys: list[tuple[str | None, tuple]]) -> dict[tuple[str | None, tuple], tuple[str, str]]:
    """(line style, marker) per (method, settings): the n-th setting of a method gets the n-th style."""
    seen: dict[str | None, int] = {}
    styles = {}
    for method, others in dict.fromkeys(keys):
        index = seen.get(method, 0)
        seen[method] = index + 1
        styles[(method, others)] = (LINE_STYLES[index % len(LINE_STYLES)], MARKERS[index % len(MARKERS)])
    return styles


def _methods(rows: Sequence[TableRow]) -> list[str | None]:
    return list(dict.fromkeys(row.method for row in rows))


def _number_or_text(label: str) -> tuple:
    tail = label.rsplit(" ", 1)[-1]
    try:
        return (0, float(tail), label)
    except ValueError:
        return (1, 0.0, label)


def running_mean(steps: Sequence[int], values: Sequence[float], points: int = 15) -> tuple[list[int], list[float]]:
    """A trailing running mean over about ``len(values) / points`` values (at each window's last step);
    fewer than ``3 * points`` values come back as they are."""
    if len(values) < 3 * points:
        return list(steps), list(values)
    window = len(values) // points
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return ([steps[index] for index in range(window - 1, len(values))],
            [(sums[index + 1] - sums[index + 1 - window]) / window for index in range(window - 1, len(values))])


def _columns(panels: int, most: int) -> int:
    return max(1, min(panels, most))


def _grid(panels: int, columns: int, *, height: float, sharey: bool = False, width: float = WIDTH_IN,
          legend: bool = True) -> tuple[Figure, list[Any]]:
    """A figure ``width`` inches wide with ``panels`` axes in rows of ``columns`` (``height`` inches per row,
    plus room for the legend above them)."""
    rows = max(1, math.ceil(panels / columns))
    fig = Figure(figsize=(width, height * rows + (0.45 if legend else 0.1)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(rows, columns, squeeze=False, sharey=sharey)
    axes = [ax for line in grid for ax in line]
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _legend(fig: Figure, axes: Sequence[Any]) -> None:
    """One legend for the figure, above the panels (never over the data): every label once, in order."""
    entries: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label and not label.startswith("_"):
                entries.setdefault(label, handle)
    if entries:
        width = fig.get_size_inches()[0]
        per_entry = 0.8 + 0.085 * max(len(label) for label in entries)  # inches at the legend's 10 pt
        fig.legend(list(entries.values()), list(entries), loc="outside upper center", frameon=False,
                   ncols=max(1, min(len(entries), int(width // per_entry))))


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    positive = [value for value in values if value > 0 and math.isfinite(value)]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
