"""``kdss_bench.results``: the one reader behind table, compare, report and the dashboard."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.config import load_suite
from kdss_bench.errors import KdssError
from kdss_bench.results import FRAME_AXES, load
from kdss_bench.runner.suite_runner import run_suite
from tests.conftest import TINY_SUITE

SUITE = TINY_SUITE.replace("seeds: [0]", "seeds: [0, 1]")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    suite_file = folder / "suite.yaml"
    suite_file.write_text(SUITE)
    outcome = run_suite(load_suite(suite_file), results_root=folder / "results", device="cpu")
    assert not outcome.failed
    return folder / "results"


def test_load_reads_every_result_with_its_plan(finished):
    results = load(finished)
    assert len(results.records) == 8 and results.suites() == ["tiny"]
    assert len(results.planned["tiny"]) == 8 and results.missing("tiny") == [] and not results.problems
    same = load(finished, use_index=False)
    assert [r["cell"] for r in same.records] == [r["cell"] for r in results.records]
    assert load(finished / "tiny").records == results.records, "a suite's folder reads like the root"


def test_the_frame_has_a_row_per_result_and_agrees_with_the_json_table(finished):
    frame = load(finished).to_frame()
    assert len(frame) == 8 and set(FRAME_AXES) <= set(frame.columns) and "version_torch" in frame.columns
    out = CliRunner().invoke(app, ["table", "--results", str(finished), "--format", "json"])
    assert out.exit_code == 0, out.output
    exported = json.loads(out.stdout)
    grouped = frame.groupby(["method", "target"])["accuracy"]
    for item in exported:
        values = grouped.get_group((item["method"], item["target"]))
        assert item["n"] == len(values) == 2
        assert item["mean"] == pytest.approx(values.mean()) and item["std"] == pytest.approx(values.std(ddof=0))


def test_a_partly_finished_suite_lists_what_is_missing_and_what_is_unreadable(finished, tmp_path):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(finished, copy)
    (copy / "tiny" / "krr_st__lfw_faces__seed1" / "result.json").unlink()
    (copy / "tiny" / "krr_st__textures3__seed0" / "result.json").write_text("{not json")
    results = load(copy)
    assert len(results.records) == 6
    assert set(results.missing("tiny")) == {"krr_st__lfw_faces__seed1", "krr_st__textures3__seed0"}
    assert list(results.problems) == ["tiny/krr_st__textures3__seed0"]
    table = results.tables()["tiny"]
    assert not table.complete and "krr_st__textures3__seed0" in table.completeness


def test_select_narrows_records_plans_and_problems(finished):
    only = load(finished).select(methods=["no_pretrain"])
    assert {r["method"] for r in only.records} == {"no_pretrain"}
    assert {c["method"] for c in only.planned["tiny"]} == {"no_pretrain"}
    assert load(finished, suite="other").records == []


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(KdssError, match="folder not found"):
        load(tmp_path / "nowhere")


def test_reading_an_empty_folder_writes_nothing_into_it(tmp_path):
    results = load(tmp_path)
    assert results.records == [] and list(tmp_path.iterdir()) == []
