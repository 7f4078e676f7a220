"""The runner: a tiny offline suite end to end, caching, resumption and failure isolation."""

from __future__ import annotations

import json
import shutil

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.event_log import read_events
from kdss_bench.store.result_index import ResultIndex

from ..conftest import TINY_SUITE

CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


def artifact_files(results):
    return sorted(p.relative_to(results) for p in (results / ".cache").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finished")
    path = folder / "suite.yaml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    results = folder / "results"
    outcome = run_suite(suite, results_root=results, device="cpu")
    return suite, results, outcome


@pytest.fixture
def finished(finished_once, tmp_path):
    """A private copy of the finished results, so a test may change them."""
    suite, results, outcome = finished_once
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    return suite, copy, outcome


def test_every_cell_finishes_with_a_complete_result(finished):
    suite, results, outcome = finished
    assert sorted(outcome.finished) == CELLS and not outcome.failed
    for cell in CELLS:
        folder = results / "tiny" / cell
        result = json.loads((folder / "result.json").read_text())
        assert 0 <= result["accuracy"] <= 100
        for key in ("config_hash", "git_commit", "versions", "device", "wall_time_s", "peak_memory_mb", "seed"):
            assert key in result
        assert (folder / "config.yaml").is_file()
        events, _ = read_events(folder / "events.jsonl")
        stages = {(e.stage, e.kind) for e in events}
        assert ("cell", "start") in stages and ("cell", "end") in stages and ("finetune", "metric") in stages
    krr = json.loads((results / "tiny" / CELLS[0] / "result.json").read_text())
    assert set(krr["stages"]) == {"teacher", "distill", "pretrain"}
    with ResultIndex(results) as index:
        assert sorted(row["cell"] for row in index.rows("tiny")) == CELLS


def test_shared_stages_run_once_and_are_reused(finished):
    _, results, _ = finished
    second = json.loads((results / "tiny" / "krr_st__textures3__seed0" / "result.json").read_text())
    assert {"teacher", "distill", "pretrain"} <= set(second["cached_stages"])
    assert len(list((results / ".cache" / "distill").iterdir())) == 1
    assert len(list((results / ".cache" / "teacher").iterdir())) == 1


def test_rerunning_a_finished_suite_recomputes_nothing(finished):
    suite, results, _ = finished
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*") if p.is_file() and p.name != "index.sqlite"
              and not p.name.startswith("index.sqlite") and "_suite" not in p.parts}  # each run writes its plan
    again = run_suite(suite, results_root=results, device="cpu")
    assert sorted(again.skipped) == CELLS and not again.finished
    after = {p: p.stat().st_mtime_ns for p in before}
    assert before == after


def test_changed_evaluation_reruns_cells_but_reuses_the_distilled_set(finished, write_suite):
    from .conftest_text import changed_finetune

    suite, results, _ = finished
    changed = load_suite(write_suite(changed_finetune(), name="changed.yaml"))
    outcome = run_suite(changed, results_root=results, device="cpu")
    assert sorted(outcome.finished) == CELLS
    result = json.loads((results / "tiny" / CELLS[0] / "result.json").read_text())
    assert result["iterations"] == 3
    assert {"distill", "pretrain"} <= set(result["cached_stages"])


def test_interrupt_keeps_finished_cells_and_resumes(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"

    def interrupt_in_second_pretrain(event):
        if event.run.endswith("krr_st__textures3__seed0") and event.stage == "finetune":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, results_root=results, device="cpu", listener=interrupt_in_second_pretrain)
    assert (results / "tiny" / CELLS[0] / "result.json").is_file()
    assert not (results / "tiny" / CELLS[1] / "result.json").exists()
    assert not [p for p in (results / ".cache").rglob("*") if ".tmp-" in p.name], "no half-written artifact"
    resumed = run_suite(suite, results_root=results, device="cpu")
    assert resumed.skipped == [CELLS[0]] and len(resumed.finished) == 3


def test_a_crashing_cell_is_recorded_and_the_suite_goes_on(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"

    def crash_one_cell(event):
        if event.run.endswith("no_pretrain__lfw_faces__seed0") and event.stage == "finetune":
            raise RuntimeError("simulated crash")

    outcome = run_suite(suite, results_root=results, device="cpu", listener=crash_one_cell)
    assert list(outcome.failed) == ["no_pretrain__lfw_faces__seed0"]
    assert "simulated crash" in outcome.failed["no_pretrain__lfw_faces__seed0"]
    assert len(outcome.finished) == 3
    folder = results / "tiny" / "no_pretrain__lfw_faces__seed0"
    assert not (folder / "result.json").exists()
    events, _ = read_events(folder / "events.jsonl")
    errors = [e for e in events if e.kind == "error"]
    assert errors and "simulated crash" in errors[-1].values["message"]


def test_linear_probe_evaluation_reuses_the_pretrained_backbone(finished, write_suite):
    _, results, _ = finished
    text = TINY_SUITE + "eval: linear_probe\nlinear_probe: {iterations: 5, batch_size: 32}\n"
    outcome = run_suite(load_suite(write_suite(text, name="probe.yaml")), results_root=results, device="cpu")
    assert sorted(outcome.finished) == CELLS
    result = json.loads((results / "tiny" / CELLS[0] / "result.json").read_text())
    assert result["eval"] == "linear_probe" and result["iterations"] == 5
    assert {"distill", "pretrain"} <= set(result["cached_stages"])
    events, _ = read_events(results / "tiny" / CELLS[0] / "events.jsonl")
    assert any(e.stage == "linear_probe" and e.kind == "metric" for e in events)


KRR_AND_REFERENCE = TINY_SUITE[TINY_SUITE.index("methods:"):TINY_SUITE.index("targets:")]
BASELINES = TINY_SUITE.replace(
    KRR_AND_REFERENCE, "methods:\n  random: {}\n  kip: {outer_steps: 2, target_batch: 20, kernel_models: 1}\n").replace(
    "targets: [lfw_faces, textures3]", "targets: [lfw_faces]") + (
    "pretrain_classifier: {epochs: 2, batch_size: 8}\n"
    "pretrain_label_regression: {iterations: 3, batch_size: 8, warmup: 1}\n")


@pytest.mark.parametrize("recipe,expected", [
    ("native", {"random": "classifier", "kip": "label_regression"}),
    ("shared", {"random": "shared_classifier", "kip": "shared_mse"}),
])
def test_each_target_kind_gets_its_pretraining_recipe(write_suite, tmp_path, recipe, expected):
    suite = load_suite(write_suite(BASELINES + f"recipe: {recipe}\n"))
    results = tmp_path / "results"
    outcome = run_suite(suite, results_root=results, device="cpu")
    assert not outcome.failed, outcome.failed
    for method, name in expected.items():
        folder = results / "tiny" / f"{method}__lfw_faces__seed0"
        events, _ = read_events(folder / "events.jsonl")
        starts = [e for e in events if e.stage == "pretrain" and e.kind == "start"]
        assert starts and starts[0].values["recipe"] == name
        assert json.loads((folder / "result.json").read_text())["recipe"] == recipe


def test_naming_the_data_root_by_another_path_recomputes_nothing(tmp_path, monkeypatch):
    import torch

    from kdss_bench.teacher.backbone import build_teacher_backbone
    from kdss_bench.teacher.checkpoint import save_teacher_checkpoint

    data = tmp_path / "data"
    data.mkdir()
    torch.manual_seed(0)
    save_teacher_checkpoint(build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)), data / "teacher.pt")
    text = TINY_SUITE.replace(
        TINY_SUITE[TINY_SUITE.index("teacher:"):TINY_SUITE.index("methods:")],
        "teacher: {checkpoint: teacher.pt, arch: convnet_8_16_bn}\n").replace(
        "targets: [lfw_faces, textures3]", "targets: [lfw_faces]")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    results = tmp_path / "results"
    first = run_suite(load_suite(path, data_root=data), results_root=results, device="cpu")
    assert len(first.finished) == 2 and not first.failed
    monkeypatch.chdir(tmp_path)
    again = run_suite(load_suite(path, data_root="data"), results_root=results, device="cpu")
    assert sorted(again.skipped) == sorted(first.finished) and not again.finished
