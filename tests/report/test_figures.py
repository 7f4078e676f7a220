"""``kdss_bench.report.figures``: each figure draws one series per method that has results, from Results.

The figures are checked on their matplotlib objects (bar containers, error bars, lines, labels), not on
pixels: on the finished CI gate suite (krr_st, random, no_pretrain; 2 targets, 2 seeds) and on records
made up here for the axes the gate does not vary (budget, eval model, protocol, label fraction).
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402
from PIL import Image  # noqa: E402

from kdss_bench.errors import KdssError  # noqa: E402
from kdss_bench.report import figures  # noqa: E402
from kdss_bench.report.reference_gain import gains_over  # noqa: E402
from kdss_bench.results import Results, load  # noqa: E402

pytestmark = pytest.mark.slow  # the gate fixture runs a suite (about 15 s on 2 cores)

METHODS = {"krr_st", "random", "no_pretrain"}


@pytest.fixture(scope="module")
def gate(gate_results):
    return load(gate_results)


def _bar_labels(ax) -> set[str]:
    return {container.get_label() for container in ax.containers if isinstance(container, BarContainer)}


def _errorbar_labels(ax) -> list[str]:
    return [container.get_label() for container in ax.containers if isinstance(container, ErrorbarContainer)]


def _line_labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def _reference_lines(ax) -> list:
    """The segments of the grey dashed reference lines (``hlines``) of a bar panel, one per block."""
    return [segment for collection in ax.collections if isinstance(collection, LineCollection)
            and len(collection.get_colors()) and to_hex(collection.get_colors()[0]) == figures.GREY
            for segment in collection.get_segments()]


def _decodes(fig) -> tuple[int, int]:
    buffer = io.BytesIO()
    figures.save_png(fig, buffer)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    image.load()
    return image.size


def test_accuracy_bars_one_bar_series_per_method_and_no_pretraining_as_a_line(gate):
    fig = figures.accuracy_bars(gate, "gate")
    table = gate.tables()["gate"]
    assert [ax.get_title() for ax in fig.axes] == table.targets == ["lfw_faces", "textures3"]
    for ax in fig.axes:
        assert _bar_labels(ax) == {"krr_st", "random"}, "no_pretrain is a line, not a bar"
        bars = {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}
        for method, container in bars.items():
            cell = table.cell(method, ax.get_title())
            assert len(container.patches) == 1
            assert container.patches[0].get_height() == pytest.approx(cell.mean)
            assert to_hex(container.patches[0].get_facecolor()) == figures.method_colour(method)
            (whisker,) = container.errorbar.lines[2][0].get_segments()
            assert (whisker[0][1], whisker[1][1]) == pytest.approx((cell.mean - cell.std, cell.mean + cell.std))
        assert [t.get_text() for t in ax.get_xticklabels()] == ["krr_st", "random"]
        reference = [c for c in ax.collections if c.get_label() == "no_pretrain"]
        assert len(reference) == 1
        (segment,) = reference[0].get_segments()
        assert segment[0][1] == pytest.approx(table.cell("no_pretrain", ax.get_title()).mean)
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert sorted(legend) == sorted(METHODS)
    width, height = _decodes(fig)
    assert width == figures.WIDTH_IN * figures.STYLE["savefig.dpi"] and height > 200


def test_gain_intervals_draw_the_tables_gains_with_their_95_percent_intervals(gate):
    fig = figures.gain_intervals(gate, "gate")
    gains = {(gain.row.method, gain.target): gain for gain in gains_over(gate.tables()["gate"])}
    for ax in fig.axes:
        assert sorted(_errorbar_labels(ax)) == ["krr_st", "random"]
        for container in ax.containers:
            gain = gains[(container.get_label(), ax.get_title())]
            (x,), _ = container.lines[0].get_data()
            assert x == pytest.approx(gain.diff)
            (bar_segments,) = container.lines[2]
            (low, _), (high, _) = bar_segments.get_segments()[0]
            assert (low, high) == pytest.approx(gain.interval)
        assert any(line.get_xdata()[0] == 0 for line in ax.get_lines()), "a line at zero gain"
    _decodes(fig)


def test_distillation_losses_one_panel_per_method_that_logged_a_loss(gate):
    fig = figures.loss_curves(gate, "gate", stage="distill")
    assert [ax.get_title() for ax in fig.axes] == ["krr_st"], "random selects images: no loss to draw"
    (line,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "krr_st"]
    assert len(line.get_xdata()) == 20  # the gate's 20 outer steps
    _decodes(fig)


def test_fine_tuning_losses_one_line_per_method_on_every_target(gate):
    fig = figures.loss_curves(gate, "gate", stage="finetune")
    assert [ax.get_title() for ax in fig.axes] == ["lfw_faces", "textures3"]
    for ax in fig.axes:
        assert sorted(_line_labels(ax)) == sorted(METHODS)
        for line in ax.get_lines():
            assert to_hex(line.get_color()) == figures.method_colour(line.get_label())
            assert list(line.get_xdata()) == list(range(10, 101, 10))
    _decodes(fig)


def test_synthetic_images_one_grid_per_distilled_set_in_display_colours(gate):
    sets = figures.image_sets(gate, "gate")
    assert [method for method, _, _ in sets] == ["krr_st", "random"]
    for _, _, found in sets:
        assert found.origin == "set" and found.size == 20 and found.images.shape == (20, 16, 16, 3)
        assert found.images.dtype.name == "uint8"
    by_method = {method: found for method, _, found in sets}
    assert by_method["random"].clipped == 0, "real images de-normalised with the source's statistics are pixels"
    assert by_method["random"].input_space == "normalized" and by_method["krr_st"].input_space == "raw"
    fig = figures.synthetic_images(gate, "gate")
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["krr_st", "random"]
    assert [ax.get_title() for ax in fig.axes] == ["krr_st: 20 of 20", "random: 20 of 20"]
    for ax, (_, _, found) in zip(fig.axes, sets, strict=True):
        (image,) = ax.get_images()
        sheet = np.asarray(image.get_array())
        assert sheet.shape == (2 * 16 + 1, 10 * 16 + 9, 3), "20 images in rows of 10, one-pixel gaps"
        assert np.array_equal(sheet[:16, :16], found.images[0]) and np.array_equal(sheet[17:, -16:], found.images[19])
    _decodes(fig)


def test_stage_costs_one_bar_series_per_method_in_each_stage_it_ran(gate):
    fig = figures.stage_costs(gate, "gate")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["teacher: s in total", "distill: s in total", "pretrain: s per run",
                          "evaluate: s per cell"]
    panels = dict(zip(titles, fig.axes, strict=True))
    assert _bar_labels(panels["evaluate: s per cell"]) == METHODS
    assert _bar_labels(panels["distill: s in total"]) == {"krr_st", "random"}
    assert _bar_labels(panels["teacher: s in total"]) == {"krr_st"}
    assert _bar_labels(panels["evaluate: peak MB"]) == METHODS
    rows = {label: summary for _, label, summary in figures.cost_summaries(gate, "gate")}
    assert rows["krr_st"].count("evaluate") == 4 and rows["krr_st"].count("pretrain") == 2
    assert rows["krr_st"].count("distill") == 1, "one distilled set serves every cell of the method"
    _decodes(fig)


def test_a_suite_that_varies_no_axis_has_nothing_to_draw_against_it(gate):
    with pytest.raises(figures.NothingToDraw, match="varies no budget"):
        figures.accuracy_by_axis(gate, "gate", axis="budget")
    with pytest.raises(KdssError, match="choose from"):
        figures.accuracy_by_axis(gate, "gate", axis="seed")


def test_the_suite_must_be_named_when_there_are_several(gate, tmp_path):
    two = Results(tmp_path, [*gate.records, *({**r, "suite": "other"} for r in gate.records)])
    with pytest.raises(KdssError, match="2 suites"):
        figures.accuracy_bars(two)
    with pytest.raises(KdssError, match="suites there: gate, other"):
        figures.accuracy_bars(two, "nope")
    assert figures.accuracy_bars(two, "other").axes


# -- axes the gate does not vary: made-up records -------------------------------------------------


def _record(suite, method, target, seed, accuracy, **axes):
    cell = "__".join([method, *(f"{key}{value}" for key, value in axes.items()), target, f"seed{seed}"])
    return {"suite": suite, "cell": cell, "method": method, "target": target, "seed": seed, "accuracy": accuracy,
            "eval": "finetune", **axes}


def _budget_sweep(tmp_path):
    records = [_record("sweep", method, target, seed, base + budget / 100 + seed, budget=budget)
               for method, base in (("krr_st", 50), ("random", 45)) for budget in (100, 250, 500, 1000)
               for target in ("gtsrb43", "dtd10") for seed in (0, 1)]
    records += [_record("sweep", "no_pretrain", target, seed, 40.0 + seed) for target in ("gtsrb43", "dtd10")
                for seed in (0, 1)]
    return Results(tmp_path, records)


def test_accuracy_by_budget_one_line_per_method_and_no_pretraining_flat(tmp_path):
    results = _budget_sweep(tmp_path)
    fig = figures.accuracy_by_axis(results, axis="budget")
    assert [ax.get_title() for ax in fig.axes] == ["gtsrb43", "dtd10"]
    for ax in fig.axes:
        assert _errorbar_labels(ax) == ["krr_st", "random"]
        krr = next(c for c in ax.containers if c.get_label() == "krr_st")
        assert list(krr.lines[0].get_xdata()) == [100, 250, 500, 1000]
        assert list(krr.lines[0].get_ydata()) == pytest.approx([51.5, 53.0, 55.5, 60.5])
        (flat,) = [line for line in ax.get_lines() if line.get_label() == "no_pretrain"]
        assert list(flat.get_ydata()) == pytest.approx([40.5, 40.5]), "no pre-training has no budget: a level"
        assert ax.get_xscale() == "log"
    _decodes(fig)


def test_accuracy_bars_with_budgets_share_one_reference_line(tmp_path):
    fig = figures.accuracy_bars(_budget_sweep(tmp_path))
    for ax in fig.axes:
        assert _bar_labels(ax) == {"krr_st", "random"}
        assert sum(len(c.patches) for c in ax.containers if isinstance(c, BarContainer)) == 8
        assert [c.get_label() for c in ax.collections if c.get_label() == "no_pretrain"] == ["no_pretrain"]
        assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["budget 100", "budget 250"]


def test_a_missing_cell_is_a_labelled_gap_and_a_single_seed_gain_a_hollow_marker(tmp_path):
    full = _budget_sweep(tmp_path).records
    records = [r for r in full if not (r["method"] == "krr_st" and r.get("budget") == 250 and r["target"] == "dtd10")
               and not (r["method"] == "random" and r.get("budget") == 1000 and r["seed"] == 1)]
    results = Results(tmp_path, records)
    fig = figures.accuracy_bars(results)
    panels = {ax.get_title(): ax for ax in fig.axes}
    krr = next(c for c in panels["dtd10"].containers if isinstance(c, BarContainer) and c.get_label() == "krr_st")
    assert len(krr.patches) == 3, "the missing budget draws no bar"
    gaps = [text for text in panels["dtd10"].texts if text.get_text() == "no result"]
    assert [text.get_position()[0] for text in gaps] == [1.0], "a labelled gap where krr_st budget 250 would be"
    assert not [text for text in panels["gtsrb43"].texts if text.get_text() == "no result"]

    fig = figures.gain_intervals(results)
    for ax in fig.axes:
        hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white"]
        assert len(hollow) == 1, "random at budget 1000 has one seed: a gain without an interval"
        (x,) = hollow[0].get_xdata()
        assert x == pytest.approx(45 + 10 + 0 - 40.5)  # seed 0 only, minus no pre-training's mean
        random = next(c for c in ax.containers if c.get_label() == "random")
        assert len(random.lines[0].get_xdata()) == 3, "the other three budgets keep their intervals"


def test_accuracy_by_model_and_by_protocol_one_series_per_method_and_setting(tmp_path):
    models = [_record("arch", method, "gtsrb43", seed, 40 + index + seed, model=model)
              for index, method in enumerate(("krr_st", "random", "no_pretrain"))
              for model in ("vgg11", "alexnet", "mobilenetv2") for seed in (0, 1)]
    fig = figures.accuracy_by_axis(Results(tmp_path, models), axis="model")
    (ax,) = fig.axes
    assert _errorbar_labels(ax) == ["krr_st", "random", "no_pretrain"], "no pre-training has a model: a series"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vgg11", "alexnet", "mobilenetv2"]
    assert to_hex(next(c for c in ax.containers if c.get_label() == "no_pretrain").lines[0].get_color()) \
        == figures.GREY

    protocols = [_record("proto", method, target, seed, 50.0 + seed, protocol=protocol, label_fraction=fraction)
                 for method in ("krr_st", "mkdt", "no_pretrain") for protocol in ("krr_st", "mkdt")
                 for fraction in (0.05, 0.5) for target in ("gtsrb43", "dtd10") for seed in (0, 1)]
    results = Results(tmp_path, protocols)
    fig = figures.accuracy_by_axis(results, axis="protocol")
    for ax in fig.axes:
        assert sorted(_errorbar_labels(ax)) == sorted(f"{m} (labels {f})" for m in ("krr_st", "mkdt", "no_pretrain")
                                                      for f in (0.05, 0.5))
    fig = figures.accuracy_by_axis(results, axis="label_fraction")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["5%", "50%"]
    fig = figures.accuracy_bars(results)  # blocks per protocol and label fraction, each with its reference
    for ax in fig.axes:
        references = _reference_lines(ax)
        assert len(references) == 4, "one no_pretrain line per (protocol, label fraction) block"
        spans = sorted((round(segment[0][0], 3), round(segment[1][0], 3)) for segment in references)
        pairs = zip(spans, spans[1:], strict=False)
        assert all(left < right <= next_left for (left, right), (next_left, _) in pairs), spans
        assert all(segment[0][1] == pytest.approx(50.5) for segment in references)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["krr_st", "mkdt"] * 4
    _decodes(fig)


def test_made_up_records_without_events_or_sets_have_no_curves_or_images(tmp_path):
    results = _budget_sweep(tmp_path)
    for draw in (figures.loss_curves, figures.synthetic_images):
        with pytest.raises(figures.NothingToDraw):
            draw(results)


def test_one_fixed_colour_per_method_and_grey_for_no_pretraining():
    assert figures.method_colour("no_pretrain") == figures.GREY
    known = [figures.method_colour(m) for m in ("random", "kmeans", "dsa", "dm", "mtt", "kip", "frepo", "krr_st",
                                                 "mkdt")]
    assert len(set(known)) == len(known) and figures.GREY not in known
    assert figures.method_colour("my_method") == figures.method_colour("my_method") in figures.EXTRA_COLOURS


def test_running_mean_smooths_long_series_and_keeps_short_ones():
    steps, values = figures.running_mean([1, 2, 3], [3.0, 1.0, 2.0])
    assert (steps, values) == ([1, 2, 3], [3.0, 1.0, 2.0])
    steps, values = figures.running_mean(list(range(90)), [float(i % 2) for i in range(90)])
    assert len(values) == 90 - 6 + 1 and steps[0] == 5 and all(math.isclose(v, 0.5) for v in values)


def test_importing_the_figures_needs_no_torch_and_the_table_command_no_matplotlib(gate_results):
    code = (
        "import sys\n"
        "import kdss_bench.report.figures, kdss_bench.report.html_report\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from kdss_bench.cli import app\n"
        f"out = CliRunner().invoke(app, ['table', '--results', {str(gate_results)!r}])\n"
        "assert out.exit_code == 0, out.output\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
