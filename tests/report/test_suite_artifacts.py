"""``kdss_bench.report.suite_artifacts``: loss curves, synthetic images and stage costs read from the files
the runner writes (events.jsonl, .cache/distill sets, stage.json, result.json, preview.npz).

On the finished CI gate suite where the runner wrote the files, and on files written here for the cases
the gate does not make (a stage run twice in a cell, a one-channel raw set, a lost artifact, damaged files).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from kdss_bench.report.suite_artifacts import (
    CACHE_FOLDER,
    CostSummary,
    StageCost,
    cell_losses,
    distill_losses,
    latest_losses,
    preview_images,
    record_costs,
    set_images,
    suite_cells,
)
from kdss_bench.results import load
from kdss_bench.store.event_log import EventLog
from kdss_bench.store.preview_file import write_preview
from kdss_bench.store.run_dir import RunDir

pytestmark = pytest.mark.slow  # the gate fixture runs a suite (about 15 s on 2 cores)

GATE_CELLS = sorted(f"{method}__{target}__seed{seed}" for method in ("krr_st", "random", "no_pretrain")
                    for target in ("lfw_faces", "textures3") for seed in (0, 1))


@pytest.fixture(scope="module")
def gate(gate_results):
    return load(gate_results)


def _distill_key(gate, method: str) -> str:
    (key,) = {record["stages"]["distill"] for record in gate.records if record["method"] == method}
    return key


# -- loss curves -----------------------------------------------------------------------------------


def test_the_gate_distillation_logged_one_curve_per_key_in_the_cell_that_ran_it(gate, gate_results):
    assert sorted(suite_cells(gate_results, "gate")) == GATE_CELLS
    curves = distill_losses(gate_results, "gate", GATE_CELLS)
    key = _distill_key(gate, "krr_st")
    assert list(curves) == [key], "random selects images: it logs no loss"
    series = curves[key]
    assert series.steps == tuple(range(1, 21)) and series.total == 20  # the gate's 20 outer steps
    assert all(np.isfinite(series.losses))
    assert series.cell.startswith("krr_st__"), "a distillation logs into the first cell that needed it"
    others = [cell for cell in GATE_CELLS if cell.startswith("krr_st__") and cell != series.cell]
    assert all(not cell_losses(gate_results, "gate", cell, "distill") for cell in others), "later cells reuse it"


def test_every_gate_cell_logged_its_fine_tuning_under_its_evaluation_key(gate, gate_results):
    for record in gate.records:
        found = latest_losses(gate_results, "gate", record["cell"], "finetune", key=record["stage_record"]["key"])
        assert found is not None and found.key == record["stage_record"]["key"]
        assert found.steps == tuple(range(10, 101, 10)) and found.total == 100


def _log(root: Path, cell: str, events: list[tuple]) -> None:
    with EventLog(RunDir(root, "s", cell).events_path) as log:
        for stage, kind, step, total, values in events:
            log.emit(f"s/{cell}", stage, kind, step=step, total=total, values=values)


def test_a_stage_run_twice_in_a_cell_counts_with_its_latest_run_or_the_one_the_result_names(tmp_path):
    _log(tmp_path, "c", [
        ("finetune", "start", None, 3, {"key": "old"}),
        ("finetune", "progress", 1, 3, {"loss": 3.0}),
        ("finetune", "progress", 2, 3, {"loss": float("nan")}),  # a diverged step: skipped, not drawn
        ("distill", "progress", 1, 9, {"loss": 7.0}),  # another stage's loss
        ("finetune", "progress", 3, 3, {"loss": 1.0}),
        ("finetune", "start", None, 2, {"key": "new"}),
        ("finetune", "progress", 1, 2, {"loss": 2.5}),
        ("finetune", "progress", 2, 2, {"loss": 2.0, "lr": 0.1}),
        ("finetune", "progress", 3, 3, {"accuracy": 50.0}),  # no loss: not a point
    ])
    runs = cell_losses(tmp_path, "s", "c", "finetune")
    assert [(run.key, run.steps, run.losses) for run in runs] == [("old", (1, 3), (3.0, 1.0)),
                                                                  ("new", (1, 2), (2.5, 2.0))]
    assert latest_losses(tmp_path, "s", "c", "finetune").key == "new"
    assert latest_losses(tmp_path, "s", "c", "finetune", key="old").losses == (3.0, 1.0)
    assert latest_losses(tmp_path, "s", "c", "finetune", key="gone").key == "new", "an unknown key: the latest"
    assert latest_losses(tmp_path, "s", "c", "pretrain") is None
    assert latest_losses(tmp_path, "s", "missing-cell", "finetune") is None


def test_a_torn_last_line_and_progress_without_a_start_still_give_a_curve(tmp_path):
    _log(tmp_path, "c", [("distill", "progress", 1, 2, {"loss": 4.0}), ("distill", "progress", 2, 2, {"loss": 3.0})])
    with open(RunDir(tmp_path, "s", "c").events_path, "ab") as handle:
        handle.write(b'{"run": "s/c", "stage": "distill", "kind": "progr')  # a writer killed mid-line
    (series,) = cell_losses(tmp_path, "s", "c", "distill")
    assert (series.key, series.steps, series.losses, series.total) == (None, (1, 2), (4.0, 3.0), 2)
    assert distill_losses(tmp_path, "s", ["c"]) == {}, "a curve without a key cannot be matched to a set"


def test_a_later_run_of_the_same_distillation_replaces_the_earlier_one(tmp_path):
    _log(tmp_path, "a", [("distill", "start", None, 2, {"key": "k"}), ("distill", "progress", 1, 2, {"loss": 9.0})])
    _log(tmp_path, "b", [("distill", "start", None, 2, {"key": "k"}), ("distill", "progress", 1, 2, {"loss": 5.0}),
                         ("distill", "progress", 2, 2, {"loss": 4.0})])
    found = distill_losses(tmp_path, "s", ["a", "b"])
    assert list(found) == ["k"] and found["k"].cell == "b" and found["k"].losses == (5.0, 4.0)
    assert suite_cells(tmp_path, "s") == ["a", "b"] and suite_cells(tmp_path, "nope") == []


# -- synthetic images ------------------------------------------------------------------------------


def test_a_normalised_gate_set_is_mapped_back_to_pixels_with_the_manifests_statistics(gate, gate_results):
    key = _distill_key(gate, "random")
    folder = gate_results / CACHE_FOLDER / "distill" / key
    with safe_open(str(folder / "distilled.safetensors"), framework="numpy") as tensors:
        stored = tensors.get_tensor("images")
    import yaml

    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    mean = np.asarray(manifest["normalization"]["mean"]).reshape(1, -1, 1, 1)
    std = np.asarray(manifest["normalization"]["std"]).reshape(1, -1, 1, 1)
    expected = np.rint(np.clip(stored * std + mean, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)

    found = set_images(gate_results, key, count=40)
    assert (found.origin, found.size, found.input_space) == ("set", 20, "normalized")
    assert found.images.dtype == np.uint8 and found.images.shape == (20, 16, 16, 3)
    assert np.abs(found.images.astype(int) - expected.astype(int)).max() <= 1
    assert found.clipped == 0.0, "real images de-normalised are pixels in [0, 1]"

    five = set_images(gate_results, key, count=5)
    assert five.size == 20 and five.images.shape[0] == 5
    assert np.array_equal(five.images, found.images[[0, 5, 10, 14, 19]]), "evenly spaced through the set"


def _write_set(root: Path, key: str, images: np.ndarray, manifest: str) -> Path:
    folder = root / CACHE_FOLDER / "distill" / key
    folder.mkdir(parents=True)
    save_file({"images": images.astype(np.float32)}, str(folder / "distilled.safetensors"))
    (folder / "manifest.yaml").write_text(manifest)
    return folder


def test_a_raw_one_channel_set_is_clipped_and_shown_in_grey(tmp_path):
    images = np.full((4, 1, 2, 2), 0.5, np.float32)
    images[0, 0, 0, 0] = 1.5  # optimised past white
    images[1, 0, 0, 0] = -0.2
    _write_set(tmp_path, "k", images, "input_space: raw\n")
    found = set_images(tmp_path, "k")
    assert found.images.shape == (4, 2, 2, 3) and found.input_space == "raw"
    assert tuple(found.images[0, 0, 0]) == (255, 255, 255) and tuple(found.images[1, 0, 0]) == (0, 0, 0)
    assert tuple(found.images[2, 1, 1]) == (128, 128, 128)
    assert found.clipped == pytest.approx(2 / 16)


@pytest.mark.parametrize("damage", ["no folder", "no manifest", "torn tensors", "manifest a list", "wrong shape"])
def test_a_set_that_cannot_be_read_gives_none_not_an_error(tmp_path, damage):
    if damage != "no folder":
        shape = (3, 5, 4, 4) if damage == "wrong shape" else (3, 3, 4, 4)
        folder = _write_set(tmp_path, "k", np.zeros(shape), "- a\n- list\n" if damage == "manifest a list"
                            else "input_space: raw\n")
        if damage == "no manifest":
            (folder / "manifest.yaml").unlink()
        if damage == "torn tensors":
            data = (folder / "distilled.safetensors").read_bytes()
            (folder / "distilled.safetensors").write_bytes(data[: len(data) // 2])
    assert set_images(tmp_path, "k") is None


def test_a_preview_stands_in_for_a_lost_set_from_the_first_cell_that_has_one(tmp_path):
    for cell in ("a", "b", "c"):
        (tmp_path / "s" / cell).mkdir(parents=True)
    (RunDir(tmp_path, "s", "a").preview_path).write_bytes(b"not a zip file")
    write_preview(RunDir(tmp_path, "s", "b").preview_path, np.random.default_rng(0).normal(size=(6, 3, 4, 4)),
                  step=3, total=9)
    write_preview(RunDir(tmp_path, "s", "c").preview_path, np.zeros((2, 3, 4, 4)), step=1, total=1)
    found = preview_images(tmp_path, "s", ["missing", "a", "b", "c"])
    assert (found.origin, found.size) == ("preview", None) and found.images.shape == (6, 4, 4, 3)
    assert preview_images(tmp_path, "s", ["a", "missing"]) is None


# -- stage costs -----------------------------------------------------------------------------------


def test_each_gate_result_costs_its_upstream_stages_and_its_own_evaluation(gate, gate_results):
    record = next(r for r in gate.records if r["method"] == "krr_st")
    costs = record_costs(gate_results, record)
    assert sorted(cost.kind for cost in costs[:-1]) == ["distill", "pretrain", "teacher"]
    assert costs[-1].kind == "evaluate", "the result's own evaluation comes last"
    for cost in costs[:-1]:
        stage = json.loads((gate_results / CACHE_FOLDER / cost.kind / cost.key / "stage.json").read_text())
        assert cost.key == record["stages"][cost.kind] and cost.origin == "stage.json"
        assert (cost.wall_time_s, cost.peak_memory_mb) == (stage["wall_time_s"], stage["peak_memory_mb"])
    evaluate = costs[-1]
    assert evaluate.key == record["stage_record"]["key"] and evaluate.origin == "result.json"
    assert (evaluate.wall_time_s, evaluate.peak_memory_mb) == (record["stage_record"]["wall_time_s"],
                                                               record["stage_record"]["peak_memory_mb"])
    reference = next(r for r in gate.records if r["method"] == "no_pretrain")
    assert [cost.kind for cost in record_costs(gate_results, reference)] == ["evaluate"]


def test_a_lost_artifact_is_costed_from_the_result_and_an_intermediate_from_its_own_folder(gate, gate_results,
                                                                                            tmp_path):
    root = tmp_path / "results"
    shutil.copytree(gate_results / CACHE_FOLDER, root / CACHE_FOLDER)
    record = next(r for r in gate.records if r["method"] == "krr_st")
    shutil.rmtree(root / CACHE_FOLDER / "distill" / record["stages"]["distill"])
    (root / CACHE_FOLDER / "teacher" / record["stages"]["teacher"] / "stage.json").write_text("{torn")
    trajectories = root / CACHE_FOLDER / "expert_trajectories" / "t1"
    trajectories.mkdir(parents=True)
    (trajectories / "stage.json").write_text(json.dumps({"wall_time_s": 12.5, "peak_memory_mb": 900.0}))
    changed = {**record, "stages": {**record["stages"], "intermediates": ["t1"]}, "stage_record": None,
               "eval_wall_time_s": 2.0, "peak_memory_mb": 123.0}
    costs = {cost.kind: cost for cost in record_costs(root, changed)}
    assert "teacher" not in costs, "an unreadable stage.json of a stage with no stand-in is left out"
    assert costs["distill"] == StageCost("distill", record["stages"]["distill"], record["distill_wall_time_s"], None,
                                         "result.json")
    assert costs["intermediate"] == StageCost("intermediate", "t1", 12.5, 900.0, "stage.json")
    assert costs["evaluate"] == StageCost("evaluate", record["config_hash"], 2.0, 123.0, "result.json")


def test_a_cost_summary_counts_a_shared_artifact_once_and_every_evaluation():
    summary = CostSummary()
    for cost in (StageCost("distill", "k", 10.0, 500.0, "stage.json"), StageCost("distill", "k", 10.0, 500.0, "x"),
                 StageCost("distill", "j", 30.0, 700.0, "stage.json"),
                 StageCost("evaluate", "e", 1.0, 100.0, "result.json"),
                 StageCost("evaluate", "e", 3.0, None, "result.json"),
                 StageCost("evaluate", "f", None, 50.0, "result.json")):
        summary.add(cost)
    assert summary.count("distill") == 2 and summary.count("evaluate") == 3 and summary.count("teacher") == 0
    assert summary.total_s("distill") == 40.0 and summary.mean_s("distill") == 20.0
    assert summary.mean_s("evaluate") == 2.0, "a stage without a wall time is not averaged in"
    assert summary.peak_mb("distill") == 700.0 and summary.peak_mb("evaluate") == 100.0
    assert summary.total_s("teacher") is None and summary.peak_mb("teacher") is None
