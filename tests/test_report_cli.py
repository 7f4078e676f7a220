"""``kdss-bench report``: the pages it writes and where, and one line on stderr (no traceback) for bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("matplotlib")

from kdss_bench.cli import app  # noqa: E402
from kdss_bench.report.html_report import REPORT_FOLDER  # noqa: E402
from kdss_bench.store.suite_folder import SUITE_FOLDER  # noqa: E402

pytestmark = pytest.mark.slow  # the gate fixture runs a suite (about 15 s on 2 cores)
runner = CliRunner()
GATE_FIGURES = {f"gate-{name}.png" for name in ("accuracy", "gain", "distill-loss", "finetune-loss", "images",
                                                  "costs")}


@pytest.fixture
def results(gate_results, tmp_path) -> Path:
    """A copy of the finished gate results: the command writes into the results folder by default."""
    root = tmp_path / "results"
    shutil.copytree(gate_results, root, ignore=shutil.ignore_patterns(REPORT_FOLDER))
    return root


def _one_line_error(out, *fragments: str) -> None:
    assert out.exit_code == 2, out.output
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
    for fragment in fragments:
        assert fragment in out.stderr, out.stderr
    assert "Traceback" not in out.output and out.stdout == ""


def test_report_writes_a_page_per_suite_beside_its_results_and_prints_where(results):
    out = runner.invoke(app, ["report", "--results", str(results)])
    assert out.exit_code == 0, out.output
    folder = results / "gate" / SUITE_FOLDER / REPORT_FOLDER
    assert out.stdout == f"gate: {folder / 'gate.html'}\n"
    assert {path.name for path in folder.iterdir()} == {"gate.html", *GATE_FIGURES}
    assert "<h1>gate</h1>" in (folder / "gate.html").read_text(encoding="utf-8")


def test_report_into_another_folder_for_one_suite_with_another_reference(results, tmp_path):
    out_dir = tmp_path / "site" / "new"
    out = runner.invoke(app, ["report", "--results", str(results / "gate"), "--suite", "gate", "--out",
                              str(out_dir), "--against", "random"])
    assert out.exit_code == 0, out.output
    assert out.stdout == f"gate: {out_dir / 'gate.html'}\n"
    assert {path.name for path in out_dir.iterdir()} == {"gate.html", *GATE_FIGURES}
    assert "Gain over random" in (out_dir / "gate.html").read_text(encoding="utf-8")
    assert not (results / "gate" / SUITE_FOLDER / REPORT_FOLDER).exists()


def test_report_of_a_partly_finished_suite_says_how_many_cells_are_missing(results, tmp_path):
    (results / "gate" / "krr_st__textures3__seed1" / "result.json").unlink()
    out = runner.invoke(app, ["report", "--results", str(results), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert out.stdout.endswith("gate.html (1 planned cells missing)\n")
    assert "krr_st__textures3__seed1" in (tmp_path / "out" / "gate.html").read_text(encoding="utf-8")


def test_report_of_a_suite_that_has_a_plan_but_no_result_yet(results, tmp_path):
    for result in (results / "gate").glob("*/result.json"):
        result.unlink()
    out = runner.invoke(app, ["report", "--results", str(results), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert out.stdout.endswith("gate.html (12 planned cells missing)\n")


def test_an_unknown_suite_names_the_suites_there(results):
    _one_line_error(runner.invoke(app, ["report", "--results", str(results), "--suite", "gat"]),
                    "--suite gat: no such suite in", "suites there: gate")


def test_an_empty_results_folder_says_to_run_a_suite_first(tmp_path):
    _one_line_error(runner.invoke(app, ["report", "--results", str(tmp_path)]),
                    f"no suites in {tmp_path}", "run a suite first (kdss-bench run SUITE)")


def test_a_missing_results_folder_is_named(tmp_path):
    _one_line_error(runner.invoke(app, ["report", "--results", str(tmp_path / "nope")]),
                    f"--results {tmp_path / 'nope'}: folder not found")


def test_an_out_path_that_is_a_file_is_named_and_left_alone(results, tmp_path):
    target = tmp_path / "page.html"
    target.write_text("mine")
    _one_line_error(runner.invoke(app, ["report", "--results", str(results), "--out", str(target)]),
                    f"--out {target}: is a file, not a folder; pass a folder")
    assert target.read_text() == "mine"


def test_a_reference_method_without_results_names_the_methods_there(results):
    _one_line_error(runner.invoke(app, ["report", "--results", str(results), "--against", "dsa"]),
                    "--against dsa: no finished results of that method in gate",
                    "methods there: krr_st, no_pretrain, random")
    assert not (results / "gate" / SUITE_FOLDER / REPORT_FOLDER).exists()


def test_a_damaged_result_is_listed_on_the_page_not_raised(results, tmp_path):
    path = results / "gate" / "random__lfw_faces__seed0" / "result.json"
    path.write_text(json.dumps({"suite": "gate"})[:-3])
    out = runner.invoke(app, ["report", "--results", str(results), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "out" / "gate.html").read_text(encoding="utf-8")
    assert "<code>random__lfw_faces__seed0</code>: " in page


def test_without_matplotlib_the_command_says_how_to_install_it(results, monkeypatch):
    import kdss_bench.report

    for name in ("figures", "html_report"):  # imported afresh, as in a process that has not drawn yet
        monkeypatch.delitem(sys.modules, f"kdss_bench.report.{name}")
        monkeypatch.delattr(kdss_bench.report, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    _one_line_error(runner.invoke(app, ["report", "--results", str(results)]),
                    'the report needs matplotlib: pip install "kdss-bench[report]"')
