"""kdss_bench.runner.stages.evaluate_stage: one cell's evaluation on its target, from its cached pre-trained
backbone (or none), written as the cell's result.json with what it cost and which stages it used."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.config import load_suite
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stage_job import UpstreamStage
from kdss_bench.runner.stages import evaluate_stage
from kdss_bench.runner.stages.evaluate_stage import _stage_keys
from kdss_bench.store.preview_file import read_preview
from kdss_bench.store.run_dir import RunDir
from tests.conftest import TINY_SUITE
from tests.runner.conftest import Emits, job_for, node_of
from tests.runner.stages.conftest import workspace_of


def _rerun(tiny_done, method: str, target: str = "lfw_faces"):
    plan, results = tiny_done.plan, tiny_done.results
    node = plan.nodes[node_of(plan, "evaluate", method=method, target=target)]
    run = RunDir(results, "tiny", node.owner)
    before = json.loads(run.result_path.read_text())
    run.result_path.unlink()
    run.preview_path.unlink(missing_ok=True)
    job = job_for(plan, node.id, results, where={"executor": "local", "worker": "w4", "host": "h"})
    emits = Emits()
    record = evaluate_stage.run(workspace_of(job), job, emits)
    return plan, node, run, before, json.loads(run.result_path.read_text()), record, emits


def test_a_pretrained_cell_evaluates_to_the_same_accuracy_and_records_its_stages(tiny_done):
    plan, node, run, before, result, record, emits = _rerun(tiny_done, "krr_st")
    assert result["accuracy"] == before["accuracy"], "same backbone, same seed: the same fine-tuning"
    assert record.result == result and result["config_hash"] == node.key == plan.config_hash(node.owner)
    keys = {kind: plan.nodes[node_of(plan, kind)].key for kind in ("teacher", "distill", "pretrain")}
    assert result["stages"] == keys
    assert result["cached_stages"] == ["distill", "pretrain", "teacher"], "job_for takes every upstream as cached"
    assert result["distill_wall_time_s"] == 1.5 and result["peak_memory_mb"] >= 100.0
    assert result["wall_time_s"] == result["eval_wall_time_s"], "nothing upstream was built by this cell"
    assert (result["executor"], result["worker"], result["host"]) == ("local", "w4", "h")
    assert (result["eval"], result["protocol_version"], result["iterations"]) == ("finetune", PROTOCOL_VERSION, 4)
    assert "protocol" not in result and "label_fraction" not in result, "no axis in this suite"
    assert emits.kinds("finetune")[0] == "start" and emits.kinds("finetune")[-1] == "end"
    assert emits.events[0][3] == 4 and emits.events[0][4]["target"] == "lfw_faces"
    cell_end = [event for event in emits.events if event[0] == "cell"]
    assert cell_end == [("cell", "end", 1, 4, {"accuracy": result["accuracy"], "wall_time_s": result["wall_time_s"]})]
    images, step, total = read_preview(run.preview_path)
    assert images.shape[0] == 12 and step == total == 4, "the cached set is shown with its number of steps"


def test_a_cell_without_pretraining_starts_from_scratch_and_shows_no_set(tiny_done):
    _, _, run, before, result, _, _ = _rerun(tiny_done, "no_pretrain", "textures3")
    assert result["accuracy"] == before["accuracy"] and set(result["stages"]) == set()
    assert result["distill_wall_time_s"] == 0.0 and result["distill_model"] == "convnet_8_16_bn"
    assert not run.preview_path.exists()


def test_a_label_fraction_axis_trains_on_part_of_the_labels_and_says_so(write_suite, tmp_path):
    suite = load_suite(write_suite(TINY_SUITE.replace("  krr_st: {outer_steps: 4, lr: 0.01, real_batch: 32, "
                                                      "pool_size: 2, online_iterations: 3, checkpoint_every: 0}\n", "")
                                   + "label_fractions: [0.5]\n"))
    plan = build_plan(suite)
    node = plan.nodes[node_of(plan, "evaluate", target="lfw_faces")]
    job = job_for(plan, node.id, tmp_path / "results")
    ws = workspace_of(job)
    evaluate_stage.run(ws, job, Emits())
    result = json.loads(RunDir(tmp_path / "results", "tiny", node.owner).result_path.read_text())
    full = int(ws.image_set("lfw_faces").y_train.shape[0])
    assert (result["label_fraction"], result["protocol"], result["label_sampling"]) == (0.5, "krr_st",
                                                                                         suite.label_sampling)
    assert result["labelled_images"] == pytest.approx(full / 2, abs=ws.image_set("lfw_faces").num_classes)


def test_stage_keys_list_intermediates_and_name_the_others_by_kind(tiny_plan, tmp_path):
    _, plan = tiny_plan
    upstream = (UpstreamStage("intermediate", "e1", None), UpstreamStage("teacher", "t", "cell"),
                UpstreamStage("intermediate", "e2", None), UpstreamStage("distill", "d", None))
    job = dataclasses.replace(job_for(plan, node_of(plan, "evaluate"), tmp_path), upstream=upstream)
    assert _stage_keys(job) == {"intermediates": ["e1", "e2"], "teacher": "t", "distill": "d"}
