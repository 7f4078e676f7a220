"""``kdss_bench.report.html_report``: the static page of a suite, its figure files, and how it is written.

On the finished CI gate suite (krr_st, random, no_pretrain; 2 targets, 2 seeds) and on copies of it with
cells taken away or damaged. The page is parsed (sections, tables, images), not compared as text.
"""

from __future__ import annotations

import io
import logging
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from PIL import Image  # noqa: E402

from kdss_bench.errors import KdssError  # noqa: E402
from kdss_bench.report import figures, html_report  # noqa: E402
from kdss_bench.report.html_report import FIGURE_NAMES, write_report  # noqa: E402
from kdss_bench.report.reference_gain import gain_text, gains_over  # noqa: E402
from kdss_bench.results import load  # noqa: E402

pytestmark = pytest.mark.slow  # the gate fixture runs a suite (about 15 s on 2 cores)

SECTIONS = ["table", "bars", "gain", "axes", "losses", "images", "costs", "missing"]
GATE_FIGURES = ["accuracy", "gain", "distill-loss", "finetune-loss", "images", "costs"]
"""The figures the gate draws: it varies no budget, model, protocol or label fraction, runs no L-BFGS probe."""


class _Page(HTMLParser):
    """Sections (id -> text), images (their attributes) and table rows (cell texts, bold or not)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.images: list[dict[str, str]] = []
        self.tables: list[list[list[tuple[str, bool]]]] = []
        self._section: str | None = None
        self._cell: list[str] | None = None
        self._bold = False
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs["id"]
            self.sections[self._section] = ""
        elif tag == "img":
            self.images.append({**attrs, "section": self._section})
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self._cell, self._bold = [], False
        elif tag == "strong":
            self._bold = True

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(("".join(self._cell).strip(), self._bold))
            self._cell = None

    def handle_data(self, data):
        if self._section is not None:
            self.sections[self._section] += data
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def gate(gate_results):
    return load(gate_results)


@pytest.fixture(scope="module")
def gate_page(gate, tmp_path_factory):
    out = tmp_path_factory.mktemp("page")
    page = write_report(gate, "gate", out)
    return page, _Page(page.read_text(encoding="utf-8"))


def _copy(gate_results: Path, tmp_path: Path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(gate_results, root, ignore=shutil.ignore_patterns("report"))
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_gate_page_has_every_section_in_order_and_one_decodable_image_per_figure(gate_page):
    page, parsed = gate_page
    assert page.name == "gate.html"
    assert list(parsed.sections) == SECTIONS
    assert [image["src"] for image in parsed.images] == [f"gate-{name}.png" for name in GATE_FIGURES]
    assert sorted(path.name for path in page.parent.iterdir()) == sorted(
        ["gate.html", *(f"gate-{name}.png" for name in GATE_FIGURES)]), "no temporary or stray files"
    for image in parsed.images:
        with Image.open(page.parent / image["src"]) as decoded:
            decoded.load()
            assert decoded.format == "PNG"
            assert decoded.size == (int(image["width"]), int(image["height"]))
        assert image["alt"].startswith(("1 panel", "2 panels", "4 panels", "8 panels"))
    assert {image["section"] for image in parsed.images} == {"bars", "gain", "losses", "images", "costs"}
    bars = next(image for image in parsed.images if image["src"] == "gate-accuracy.png")
    assert "(lfw_faces, textures3)" in bars["alt"] and "series: no_pretrain, krr_st, random" in bars["alt"]


def test_the_gate_page_table_is_the_accuracy_table_with_the_best_cell_in_bold(gate, gate_page):
    _, parsed = gate_page
    table = gate.tables()["gate"]
    accuracy, gain, costs = parsed.tables
    assert [text for text, _ in accuracy[0]] == ["Method", "lfw_faces", "textures3"]
    assert [row[0][0] for row in accuracy[1:]] == [row.label for row in table.rows] == ["krr_st", "random",
                                                                                       "no_pretrain"]
    for html_row, row in zip(accuracy[1:], table.rows, strict=True):
        for (text, bold), target in zip(html_row[1:], table.targets, strict=True):
            cell = table.cell(row, target)
            assert text == table.cell_text(cell) and bold == cell.best
    assert sum(bold for row in accuracy[1:] for _, bold in row[1:]) == 2, "one best cell per target"
    gains = {(g.row.method, g.target): g for g in gains_over(table)}
    assert [row[0][0] for row in gain[1:]] == ["krr_st", "random"], "no gain row for the reference itself"
    for html_row in gain[1:]:
        assert [text for text, _ in html_row[1:]] == [gain_text(gains[(html_row[0][0], t)]) for t in table.targets]
    assert [text for text, _ in costs[0]][:1] == ["Method"] and [row[0][0] for row in costs[1:]] == [
        "krr_st", "random", "no_pretrain"]


def test_the_gate_page_says_what_it_did_not_draw_and_that_nothing_is_missing(gate_page):
    _, parsed = gate_page
    assert "12 of 12 planned cells finished" in parsed.text
    assert "varies no budget, evaluation model, protocol or label fraction" in parsed.sections["axes"]
    assert "No logged loss: random" in parsed.sections["losses"]
    assert "random: de-normalised with the source's mean and std" in parsed.sections["images"]
    assert "krr_st: raw pixels as stored" in parsed.sections["images"]
    assert "None: every planned cell has a result." in parsed.sections["missing"]
    assert "Incomplete" not in parsed.text


def test_a_partly_finished_suite_draws_what_exists_and_names_the_missing_cells(gate_results, tmp_path):
    root = _copy(gate_results, tmp_path)
    for cell in ("random__textures3__seed1", "krr_st__lfw_faces__seed0"):
        (root / "gate" / cell / "result.json").unlink()
    (root / "gate" / "no_pretrain__lfw_faces__seed1" / "result.json").write_text('{"suite": "gate", "cell"')
    results = load(root)
    page = write_report(results, "gate")
    assert page == root / "gate" / "_suite" / "report" / "gate.html"
    parsed = _Page(page.read_text(encoding="utf-8"))
    assert "Incomplete: 3 of 12 planned cells have no result yet" in parsed.text
    missing = parsed.sections["missing"]
    assert "3 of 12 planned cells" in missing
    for cell in ("random__textures3__seed1", "krr_st__lfw_faces__seed0", "no_pretrain__lfw_faces__seed1"):
        assert cell in missing
    assert "no_pretrain__lfw_faces__seed1: " in missing, "a damaged result says why it could not be read"
    assert [image["src"] for image in parsed.images] == [f"gate-{name}.png" for name in GATE_FIGURES]
    accuracy = parsed.tables[0]
    assert "(n=1 of 2)" in " ".join(text for row in accuracy for text, _ in row), "the table marks the one-seed cells"


def test_a_suite_with_a_plan_and_no_results_yet_is_a_page_of_notes(gate_results, tmp_path):
    root = _copy(gate_results, tmp_path)
    for result in (root / "gate").glob("*/result.json"):
        result.unlink()
    page = write_report(load(root / "gate"), "gate", tmp_path / "out")
    parsed = _Page(page.read_text(encoding="utf-8"))
    assert list(parsed.sections) == SECTIONS
    assert "No finished results yet." in parsed.sections["table"]
    assert "no finished results to draw" in parsed.sections["bars"]
    assert "12 of 12 planned cells" in parsed.sections["missing"]
    # what a running suite already has: its distillation's loss (events.jsonl) and its sets (.cache/distill)
    assert [image["src"] for image in parsed.images] == ["gate-distill-loss.png", "gate-images.png"]
    assert sorted(path.name for path in page.parent.iterdir()) == ["gate-distill-loss.png", "gate-images.png",
                                                                   "gate.html"]


def test_writing_again_replaces_the_figures_and_removes_only_its_own_stale_ones(gate, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "gate-by-budget.png").write_bytes(b"from an older report of a sweep")
    (out / "gate-notes.txt").write_text("the user's")
    (out / "other-accuracy.png").write_bytes(b"another suite's figure")
    write_report(gate, "gate", out)
    names = set(path.name for path in out.iterdir())
    assert "gate-by-budget.png" not in names
    assert {"gate-notes.txt", "other-accuracy.png", "gate.html", "gate-accuracy.png"} <= names
    assert not [name for name in names if name.startswith(".") or name.endswith(".tmp")]


def test_a_figure_that_fails_to_draw_leaves_every_file_of_the_earlier_report_as_it_was(gate, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_report(gate, "gate", out)
    before = _files(out)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a figure")

    monkeypatch.setattr(figures, "stage_costs", broken)
    with pytest.raises(RuntimeError, match="a bug in a figure"):
        write_report(gate, "gate", out)
    assert _files(out) == before, "nothing is written before the whole page is drawn"


def test_a_figure_with_bad_data_becomes_a_note_and_a_warning(gate, tmp_path, monkeypatch, caplog):
    def unreadable(*args, **kwargs):
        raise ValueError("events.jsonl: not what we expected")

    monkeypatch.setattr(figures, "gain_intervals", unreadable)
    with caplog.at_level(logging.WARNING, logger="kdss_bench"):
        page = write_report(gate, "gate", tmp_path / "out")
    parsed = _Page(page.read_text(encoding="utf-8"))
    assert "Could not draw this figure: events.jsonl: not what we expected" in parsed.sections["gain"]
    assert "gate-gain.png" not in [image["src"] for image in parsed.images]
    assert not (tmp_path / "out" / "gate-gain.png").exists()
    assert [record.getMessage() for record in caplog.records] == [
        "report gate: figure gain not drawn: events.jsonl: not what we expected"]


def test_a_write_that_fails_names_the_folder_and_leaves_no_temporary_file(gate, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_report(gate, "gate", out)
    before = _files(out)
    real = html_report.write_text_atomic

    def read_only(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(html_report, "write_text_atomic", read_only)
    with pytest.raises(KdssError, match=r"--out .*out: cannot write the report \(Permission denied\); pass --out"):
        write_report(gate, "gate", out)
    monkeypatch.setattr(html_report, "write_text_atomic", real)
    assert set(_files(out)) == set(before) and _files(out)["gate.html"] == before["gate.html"]


def test_an_out_path_that_is_a_file_is_refused_before_anything_is_drawn(gate, tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("keep me")
    monkeypatch.setattr(html_report, "_Page", None)  # drawing would fail loudly: it must not start
    with pytest.raises(KdssError, match=r"--out .*report.html: is a file, not a folder; pass a folder"):
        write_report(gate, "gate", target)
    assert target.read_text() == "keep me"


def test_another_reference_method_is_the_line_and_the_gain_baseline(gate, tmp_path):
    page = write_report(gate, "gate", tmp_path, reference="random")
    parsed = _Page(page.read_text(encoding="utf-8"))
    assert "Gain over random" in parsed.text
    gain = parsed.tables[1]
    assert [row[0][0] for row in gain[1:]] == ["krr_st", "no_pretrain"]
    with Image.open(page.parent / "gate-gain.png") as image:
        image.load()


def test_every_figure_name_is_one_the_page_can_clean_up():
    assert set(GATE_FIGURES) <= set(FIGURE_NAMES)
    assert {f"by-{axis}" for axis in figures.AXES} <= set(FIGURE_NAMES)


def test_a_figure_is_decodable_bytes_of_the_size_the_page_declares(gate, tmp_path):
    fig = figures.accuracy_bars(gate, "gate")
    buffer = io.BytesIO()
    figures.save_png(fig, buffer)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert image.size == tuple(round(v) for v in fig.get_size_inches() * figures.STYLE["savefig.dpi"])
