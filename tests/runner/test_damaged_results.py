"""A damaged results folder repairs itself: broken index, damaged cached artifacts, a torn result.json."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.config import load_suite
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.live_runs import LiveRuns
from kdss_bench.store.result_index import INDEX_FILE
from tests.conftest import TINY_SUITE

runner = CliRunner()
KRR = "krr_st__lfw_faces__seed0"


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    path = folder / "suite.yaml"
    path.write_text(TINY_SUITE)
    results = folder / "results"
    outcome = run_suite(load_suite(path), results_root=results, device="cpu")
    assert len(outcome.finished) == 4
    return path, results


@pytest.fixture
def finished(finished_once, tmp_path):
    path, results = finished_once
    shutil.copytree(results, tmp_path / "results")
    return path, tmp_path / "results"


def accuracies(results):
    return {p.parent.name: json.loads(p.read_text())["accuracy"] for p in (results / "tiny").glob("*/result.json")}


def test_table_and_run_repair_a_garbage_index_in_one_go(finished):
    path, results = finished
    (results / INDEX_FILE).write_bytes(b"garbage" * 4096)
    out = runner.invoke(app, ["table", "--results", str(results)])
    assert out.exit_code == 0, out.output
    assert "krr_st" in out.stdout and "Traceback" not in out.output
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "rebuilt the index from the result folders (4 results)" in warnings[0]
    (results / INDEX_FILE).write_bytes(b"garbage again" * 4096)
    (results / "tiny" / KRR / "result.json").unlink()  # one cell to re-run: run must not stop after it
    out = runner.invoke(app, ["run", str(path), "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    assert "finished 1, already done 3, failed 0" in out.stderr and "Traceback" not in out.output


@pytest.mark.parametrize("kind, file_name", [("pretrain", "backbone.safetensors"),
                                             ("distill", "distilled.safetensors")])
def test_a_damaged_artifact_is_quarantined_and_rebuilt_in_the_same_run(finished, kind, file_name):
    """A flipped byte in a cached artifact: the stage that reads it finds the checksum wrong, the
    artifact is moved aside (one warning line naming it), rebuilt, and the cells come out as a
    clean run's."""
    path, results = finished
    before = accuracies(results)
    (artifact,) = [p for p in (results / ".cache" / kind).iterdir() if p.is_dir()]
    target = artifact / file_name
    data = bytearray(target.read_bytes())
    data[-5] ^= 0xFF
    target.write_bytes(bytes(data))
    for cell in (KRR, "krr_st__textures3__seed0"):
        (results / "tiny" / cell / "result.json").unlink()  # their evaluation reads the backbone again
    if kind == "distill":  # the pre-training must run again to read the distilled set
        shutil.rmtree(next(p for p in (results / ".cache" / "pretrain").iterdir() if p.is_dir()))
    out = runner.invoke(app, ["run", str(path), "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"cached {kind} artifact {artifact.name}" in warnings[0], out.stderr
    assert "does not match the checksum" in warnings[0] and file_name in warnings[0]
    assert "rebuild" in out.stderr and "failed 0" in out.stderr
    assert accuracies(results) == before, "rebuilt from the same inputs: the same numbers"
    assert list((results / ".cache" / kind).glob(f"{artifact.name}.broken-*")), "the damaged copy is kept aside"


def test_a_torn_result_json_is_an_incomplete_cell_for_the_table_and_a_failed_one_for_the_dashboard(finished):
    path, results = finished
    torn = results / "tiny" / KRR / "result.json"
    torn.write_text(torn.read_text()[:40])
    out = runner.invoke(app, ["table", "--results", str(results)])
    assert out.exit_code == 0, out.output
    assert "incomplete: 3 of 4 cells finished; missing: krr_st__lfw_faces__seed0 (" in out.stdout
    assert "not valid JSON" in out.stdout
    lines = [line for line in out.stdout.splitlines() if line.startswith("| krr_st")]
    assert "—" in lines[0], "the cell shows no number rather than a number from fewer seeds"
    live = LiveRuns(results)
    live.poll()
    state = live.cell("tiny", KRR)
    assert state.status == "failed" and "not valid JSON" in state.error and "re-run" in state.error
    out = runner.invoke(app, ["run", str(path), "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0 and "finished 1, already done 3" in out.stderr
