"""``kdss-bench report``: one self-contained static HTML page per suite, its figures as PNG files beside it.

The page (``<out>/<suite>.html``, by default ``<results>/<suite>/_suite/report/<suite>.html``) needs no
server and no JavaScript: inline CSS, ``<img>`` tags with alt text, links within the page. Sections:

1. the accuracy table exactly as ``kdss-bench table`` prints it (same cell texts, best in bold, the
   footer) and the gain over no pre-training (``reference_gain``);
2. accuracy per target and method (bars, population std over seeds, no pre-training as a line);
3. the gain over no pre-training with its 95% confidence interval;
4. accuracy against budget / eval model / protocol / label fraction, where the suite varies them;
5. distillation and fine-tuning loss curves;
6. each method's synthetic images;
7. wall time and peak memory per stage;
8. what is missing: planned cells without a result (a partly finished suite draws what exists).

Figures come from :mod:`kdss_bench.report.figures` (matplotlib, Agg canvas).
"""

from __future__ import annotations

import html
import io
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kdss_bench.errors import KdssError
from kdss_bench.report import figures
from kdss_bench.report.reference_gain import gain_text, gains_footer, gains_over
from kdss_bench.report.results_table import AXIS_NAMES, BLOCK_AXES, NO_PRETRAIN, ResultsTable
from kdss_bench.results import Results
from kdss_bench.store.atomic_write import write_bytes_atomic, write_text_atomic
from kdss_bench.store.suite_folder import SUITE_FOLDER, SuiteFolder

log = logging.getLogger(__name__)

REPORT_FOLDER = "report"
"""The default output folder, inside the suite's ``_suite`` folder."""
FIGURE_NAMES = ("accuracy", "gain", *(f"by-{axis}" for axis in figures.AXES), "distill-loss", "finetune-loss",
                "lbfgs_probe-loss", "images", "costs")
"""Every figure file a page can have (``<suite>-<name>.png``); older ones not drawn again are removed."""
EVALUATION_STAGES = ("finetune", "lbfgs_probe")

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; font-size: 16px;
       line-height: 1.45; color: #1b1b1b; max-width: 1140px; margin: 0 auto; padding: 16px 20px 48px; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.08em; margin-top: 1.3em; }
.meta { color: #444; font-size: 0.92em; margin: 0.2em 0; }
.notice { background: #fff4e0; border-left: 4px solid #e8a33d; padding: 8px 12px; margin: 12px 0; }
nav ol { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; margin: 10px 0; font-size: 0.95em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 5px 12px; }
thead th { border-bottom: 2px solid #888; text-align: right; }
thead th:first-child, tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
td { text-align: right; white-space: nowrap; }
tr.block-start > * { border-top: 2px solid #888; }
tr.reference th, tr.reference td { color: #666; }
td.missing { color: #999; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.45em; border-radius: 2px;
          vertical-align: -0.05em; }
.footer, figcaption, .none { color: #444; font-size: 0.9em; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { margin-top: 6px; max-width: 1100px; }
ul.missing { columns: 2; font-size: 0.9em; }
code { font-size: 0.92em; }
"""


def default_out(results: Results, suite: str) -> Path:
    """``<results>/<suite>/_suite/report``."""
    return Path(results.root) / suite / SUITE_FOLDER / REPORT_FOLDER


def write_report(results: Results, suite: str | None = None, out: str | Path | None = None, *,
                 method_order: Sequence[str] | None = None, reference: str = NO_PRETRAIN) -> Path:
    """Writes ``<out>/<suite>.html`` and its ``<suite>-*.png`` figures; returns the page's path.

    The whole page is drawn in memory first: a figure that fails to draw changes no file. Then every
    figure, and the page last, is written to a temporary file and renamed into place, so a reader (or a
    crash) sees the old file or the new one, never half of one; figures of an earlier report that this
    one no longer draws are removed after the page is in place."""
    name = figures._suite_name(results, suite)
    folder = Path(out) if out is not None else default_out(results, name)
    if folder.exists() and not folder.is_dir():
        raise KdssError(f"--out {folder}: is a file, not a folder; pass a folder (it is created if missing)")
    page = _Page(results, name, folder, method_order, reference)
    text = page.render()
    target = folder / f"{name}.html"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, data in page.files.items():
            write_bytes_atomic(folder / file_name, data)
        write_text_atomic(target, text)
        for stale in FIGURE_NAMES:
            path = folder / f"{name}-{stale}.png"
            if path.name not in page.files and path.exists():
                path.unlink()
    except KdssError:
        raise
    except OSError as error:
        raise KdssError(f"--out {folder}: cannot write the report ({error.strerror or error}); "
                        "pass --out with a writable folder") from None
    return target


class _Page:
    def __init__(self, results: Results, suite: str, folder: Path, method_order: Sequence[str] | None,
                 reference: str) -> None:
        self.results, self.suite, self.folder = results, suite, folder
        self.method_order, self.reference = method_order, reference
        self.selected = results.select(suite=suite)
        self.table: ResultsTable | None = self.selected.tables(method_order=method_order).get(suite)
        self.files: dict[str, bytes] = {}
        """Figure file name -> its PNG, drawn by :meth:`render` and written by :func:`write_report`."""

    # -- the page ----------------------------------------------------------------------------

    def render(self) -> str:
        sections = [
            ("table", "Accuracy table", self._table_section()),
            ("bars", "Accuracy per target", self._figure("accuracy", figures.accuracy_bars, self._bars_text())),
            ("gain", f"Gain over {self.reference}", self._figure("gain", figures.gain_intervals, self._gain_text())),
            ("axes", "Accuracy against the suite's axes", self._axes_section()),
            ("losses", "Loss curves", self._loss_section()),
            ("images", "Synthetic images", self._images_section()),
            ("costs", "Cost per stage", self._cost_section()),
            ("missing", "Missing cells", self._missing_section()),
        ]
        nav = "".join(f'<li><a href="#{key}">{_e(title)}</a></li>' for key, title, _ in sections)
        body = "".join(f'<section id="{key}"><h2>{index}. {_e(title)}</h2>{content}</section>'
                       for index, (key, title, content) in enumerate(sections, start=1))
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{_e(self.suite)}: kdss-bench report</title><style>{CSS}</style></head><body>"
                f"{self._header()}<nav><ol>{nav}</ol></nav>{body}</body></html>\n")

    def _header(self) -> str:
        records = self.selected.records
        planned = self.selected.planned.get(self.suite, [])
        missing = self.selected.missing(self.suite)
        done = len(planned) - len(missing) if planned else len(records)
        lines = [f"<h1>{_e(self.suite)}</h1>"]
        latest = SuiteFolder(self.selected.root, self.suite).latest_run() or {}
        counts = f"{done} of {len(planned)} planned cells finished" if planned else f"{len(records)} finished cells"
        run = f"; latest run {_e(latest.get('run_id'))}: {_e(latest.get('state'))}" if latest.get("run_id") else ""
        lines.append(f'<p class="meta">results <code>{_e(self.selected.root)}</code>; {_e(counts)}{run}; '
                     f"written {time.strftime('%Y-%m-%d %H:%M %Z')}</p>")
        facts = []
        for key, what in (("device", "device"), ("git_commit", "git commit"), ("protocol_version", "protocol")):
            values = list(dict.fromkeys(str(r.get(key)) for r in records if r.get(key) is not None))
            if values:
                facts.append(f"{what} {', '.join(values[:3])}{' …' if len(values) > 3 else ''}")
        versions = list(dict.fromkeys(str((r.get("versions") or {}).get("kdss_bench")) for r in records
                                      if (r.get("versions") or {}).get("kdss_bench")))
        if versions:
            facts.append(f"kdss_bench {', '.join(versions)}")
        if facts:
            lines.append(f'<p class="meta">{_e("; ".join(facts))}</p>')
        if missing:
            lines.append(f'<p class="notice">Incomplete: {len(missing)} of {len(planned)} planned cells have no '
                         f'result yet; the figures show the finished ones. <a href="#missing">Missing cells</a>.</p>')
        return "".join(lines)

    # -- 1. tables ---------------------------------------------------------------------------

    def _table_section(self) -> str:
        table = self.table
        if table is None or not table.cells():
            return '<p class="none">No finished results yet.</p>'
        header = [table.row_header, *table.targets, *(["rank"] if table.blocked else [])]
        rows, previous = [], None
        for row in table.rows:
            block = tuple(item for item in row.settings if item[0] in BLOCK_AXES)
            classes = []
            if table.blocked and previous is not None and block != previous:
                classes.append("block-start")
            previous = block
            if row.method == self.reference:
                classes.append("reference")
            cells = []
            for target in table.targets:
                cell = table.cell(row, target)
                text = _e(table.cell_text(cell))
                if cell is None:
                    cells.append(f'<td class="missing">{text}</td>')
                else:
                    cells.append(f"<td><strong>{text}</strong></td>" if cell.best else f"<td>{text}</td>")
            if table.blocked:
                cells.append(f"<td>{_e(table.rank_text(row))}</td>")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            rows.append(f'<tr{attr}><th scope="row">{_swatch(row.method)}{_e(row.label)}</th>{"".join(cells)}</tr>')
        parts = [_html_table(header, rows, caption=f"{table.title}: top-1 accuracy (%)"),
                 f'<p class="footer">{_e(table.footer)}</p>']
        gains = gains_over(table, self.reference)
        if gains:
            by_key = {(gain.row, gain.target): gain for gain in gains}
            gain_rows = []
            for row in table.rows:
                if row.method == self.reference:
                    continue
                texts = "".join(f"<td>{_e(gain_text(by_key.get((row, target))))}</td>" for target in table.targets)
                gain_rows.append(f'<tr><th scope="row">{_swatch(row.method)}{_e(row.label)}</th>{texts}</tr>')
            parts += [f"<h3>Gain over {_e(self.reference)}</h3>",
                      _html_table([table.row_header, *table.targets], gain_rows,
                                  caption=f"gain over {self.reference} (points)"),
                      f'<p class="footer">{_e(gains_footer(gains, self.reference))}</p>']
        else:
            parts.append(f'<p class="none">No gain table: the suite has no finished {_e(self.reference)} results.</p>')
        return "".join(parts)

    # -- figures -----------------------------------------------------------------------------

    def _figure(self, name: str, draw, caption: str, alt: str | None = None, **options: Any) -> str:
        """Draws one figure into ``<suite>-<name>.png`` and returns its ``<figure>``, or why there is none."""
        try:
            fig = draw(self.selected, self.suite, method_order=self.method_order, **options)
        except figures.NothingToDraw as why:
            return f'<p class="none">{_e(why)}.</p>'
        except (OSError, ValueError) as error:
            log.warning("report %s: figure %s not drawn: %s", self.suite, name, error)
            return f'<p class="none">Could not draw this figure: {_e(error)}</p>'
        buffer = io.BytesIO()
        figures.save_png(fig, buffer)
        width, height = (round(value) for value in fig.get_size_inches() * figures.STYLE["savefig.dpi"])
        file_name = f"{self.suite}-{name}.png"
        self.files[file_name] = buffer.getvalue()
        alt_text = alt or _figure_alt(fig, caption)
        return (f'<figure><img src="{_e(file_name)}" alt="{_e(alt_text)}" width="{width}" height="{height}">'
                f"<figcaption>{caption}</figcaption></figure>")

    def _bars_text(self) -> str:
        return ("Mean top-1 test accuracy over seeds per method and downstream target; error bars: population "
                f"std over seeds (as in the table). {_e(self.reference)}: the grey dashed line (its mean) and grey "
                "band (± its std) over the bars it is compared with. A planned bar without a result says so.")

    def _gain_text(self) -> str:
        gains = gains_over(self.table, self.reference) if self.table is not None else []
        tests = sorted({gain.test for gain in gains})
        seeds = sorted({gain.n for gain in gains})
        rough = (" With 2 seeds the paired interval has one degree of freedom (t = 12.7): it is very wide by "
                 "construction, a rough guide only.") if 2 in seeds else ""
        return (f"Gain over {_e(self.reference)} in top-1 accuracy points (mean of the row minus mean of "
                f"{_e(self.reference)}) with a 95% confidence interval: a t-interval of the per-seed differences "
                "where both rows ran the same seeds (paired), Welch's interval with Welch-Satterthwaite degrees "
                "of freedom otherwise - the same test as the gain table's p, so an interval excludes 0 exactly "
                f"when p &lt; 0.05 (here: {_e(', '.join(tests) or 'no test')}). A hollow marker: a side has one "
                f"seed, no interval. Not corrected for the number of cells.{rough}")

    def _axes_section(self) -> str:
        varying = [axis for axis in figures.AXES if self.table is not None and axis in self.table.varying]
        if not varying:
            return ('<p class="none">This suite varies no budget, evaluation model, protocol or label fraction '
                    "(suites such as budget-sweep, architectures and mkdt-vs-krrst do).</p>")
        parts = []
        for axis in varying:
            shown = AXIS_NAMES.get(axis, axis)
            caption = (f"Mean top-1 accuracy (± population std over seeds) against the {_e(shown)}, per target; "
                       "one line per method (and per value of the other settings that vary). ")
            if axis == "budget":
                caption += f"{_e(self.reference)} distils nothing: its accuracy is the dashed line and band."
            elif axis in ("model", "protocol"):
                caption += "Points of one category are spread sideways so their error bars do not overlap."
            parts.append(f"<h3>Against {_e(shown)}</h3>"
                         + self._figure(f"by-{axis}", figures.accuracy_by_axis, caption, axis=axis))
        return "".join(parts)

    def _loss_section(self) -> str:
        try:
            curves = figures.distill_curve_sets(self.selected, self.suite, method_order=self.method_order)
        except (OSError, ValueError):
            curves = []
        with_curves = {method for method, _, _ in curves}
        methods = self.table.methods if self.table is not None else []
        without = [m for m in methods if m != self.reference and m not in with_curves]
        note = (f" No logged loss: {_e(', '.join(without))} (methods that select or import images optimise "
                "nothing; a distillation cached by another suite logged into that suite's cells).") if without else ""
        parts = ["<h3>Distillation</h3>", self._figure(
            "distill-loss", figures.loss_curves,
            "The loss each method's distillation logged per outer step, one panel per method on its own scale "
            "(the methods optimise different quantities); the latest run of each distillation, from the events "
            f"of the cell that ran it.{note}", stage="distill")]
        stages = [stage for stage in EVALUATION_STAGES
                  if any(record.get("eval") == stage for record in self.selected.records)]
        for stage in stages or ["finetune"]:
            what = "Fine-tuning" if stage == "finetune" else f"Evaluation ({stage})"
            parts += [f"<h3>{_e(what)}</h3>", self._figure(
                f"{stage}-loss", figures.loss_curves,
                f"{_e(what)} training loss per iteration on each target: the mean over seeds (line) and the seeds' "
                "range (band), one line per method (and setting).", stage=stage)]
        return "".join(parts)

    def _images_section(self) -> str:
        try:
            sets = figures.image_sets(self.selected, self.suite, method_order=self.method_order)
        except (OSError, ValueError):
            sets = []
        notes = []
        for _, label, found in sets:
            if found.origin == "set":
                how = ("raw pixels as stored" if found.input_space == "raw"
                       else "de-normalised with the source's mean and std from its manifest")
                clipped = f", {found.clipped:.0%} of values clipped to [0, 1]" if found.clipped >= 0.005 else ""
                notes.append(f"{_e(label)}: {how}{clipped}")
            else:
                notes.append(f"{_e(label)}: the cell's preview (its set is not in the cache), each image min-max "
                             "scaled as the dashboard shows it")
        caption = ("Images of each method's distilled set, read from <code>.cache/distill/&lt;key&gt;/</code>: up to "
                   "40, evenly spaced through the set (a class-ordered set shows its classes); "
                   + "; ".join(notes) + "." if notes else "")
        return self._figure("images", figures.synthetic_images, caption)

    def _cost_section(self) -> str:
        figure = self._figure(
            "costs", figures.stage_costs,
            "Wall time (top) and peak memory (bottom) per stage: the teacher, intermediates (e.g. MTT's expert "
            "trajectories) and distilled set in total (each artifact once, also when cached from an earlier run: "
            "the time it took to build), pre-training per run and evaluation per cell (means). Peak memory: the "
            "largest of the row's stages of that kind (CPU: resident-set high-water mark of the process; CUDA: "
            "the allocator's peak).")
        try:
            found = figures.cost_summaries(self.selected, self.suite, method_order=self.method_order)
        except (OSError, ValueError):
            found = []
        if not found:
            return figure
        kinds = [(kind, how) for kind, how in figures.COST_PANELS if any(s.count(kind) for _, _, s in found)]
        names = {"intermediate": "intermediates"}
        header = [self.table.row_header if self.table is not None else "Row",
                  *(f"{names.get(kind, kind)} (s{'' if how == 'total' else ' each'})" for kind, how in kinds),
                  "total (s)", "peak MB"]
        rows = []
        for row, label, summary in found:
            cells = []
            total = 0.0
            for kind, how in kinds:
                value = summary.total_s(kind) if how == "total" else summary.mean_s(kind)
                count = summary.count(kind)
                total += summary.total_s(kind) or 0.0
                text = "—" if value is None else _seconds(value) + (f" × {count}" if how == "mean" and count else "")
                cells.append(f"<td>{_e(text)}</td>")
            peaks = [summary.peak_mb(kind) for kind, _ in kinds if summary.peak_mb(kind) is not None]
            cells.append(f"<td>{_e(_seconds(total))}</td><td>{_e(f'{max(peaks):,.0f}' if peaks else '—')}</td>")
            rows.append(f'<tr><th scope="row">{_swatch(row.method)}{_e(label)}</th>{"".join(cells)}</tr>')
        return figure + _html_table(header, rows, caption="wall time per stage") + (
            '<p class="footer">total: every stage behind the row once (shared teachers and sets included in '
            "each row that uses them); × n: the number of runs or cells averaged.</p>")

    # -- 8. missing --------------------------------------------------------------------------

    def _missing_section(self) -> str:
        missing = self.selected.missing(self.suite)
        problems = {key.split("/", 1)[1]: why for key, why in self.selected.problems.items()}
        if not self.selected.planned.get(self.suite):
            return ('<p class="none">No run record names the planned cells (the suite\'s <code>_suite/runs</code> '
                    "folder is absent): only finished results are known.</p>")
        if not missing:
            return '<p class="none">None: every planned cell has a result.</p>'
        items = "".join(f"<li><code>{_e(cell)}</code>{': ' + _e(problems[cell]) if cell in problems else ''}</li>"
                        for cell in missing)
        return (f"<p>{len(missing)} of {len(self.selected.planned[self.suite])} planned cells (from the latest run "
                "record) have no readable result; <code>kdss-bench run SUITE</code> resumes them.</p>"
                f'<ul class="missing">{items}</ul>')


def _html_table(header: Sequence[str], rows: Sequence[str], caption: str) -> str:
    head = "".join(f'<th scope="col">{_e(name)}</th>' for name in header)
    return (f'<table><caption style="caption-side: top; text-align: left; color: #444; font-size: 0.9em">'
            f"{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _swatch(method: str | None) -> str:
    return f'<span class="swatch" style="background: {figures.method_colour(method)}"></span>'


def _figure_alt(fig: Any, caption: str) -> str:
    """Alt text: what the panels are (their titles and axis labels), then the caption without markup."""
    panels = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title() for ax in panels if ax.get_title()]
    labels = [label for label in dict.fromkeys(
        text for ax in panels for text in (ax.get_xlabel(), ax.get_ylabel()) if text)]
    legend = [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    parts = [f"{len(panels)} panel{'s' if len(panels) != 1 else ''}"
             + (f" ({', '.join(titles)})" if titles else "")]
    if labels:
        parts.append("axes: " + ", ".join(labels))
    if legend:
        parts.append("series: " + ", ".join(legend))
    plain = html.unescape(caption.replace("<code>", "").replace("</code>", ""))
    return "; ".join(parts) + ". " + plain


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if value < 10:
        return f"{value:.2f}".rstrip("0").rstrip(".") if value >= 0.01 else f"{value:.3f}"
    if value < 600:
        return f"{value:.0f}"
    return f"{value:,.0f}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
