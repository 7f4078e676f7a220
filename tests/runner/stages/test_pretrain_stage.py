"""kdss_bench.runner.stages.pretrain_stage: a backbone trained on a cached distilled set by the recipe its kind
picks (or MKDT's protocol), saved as safetensors with what it used."""

from __future__ import annotations

import shutil

from safetensors import safe_open
from safetensors.torch import load_file

from kdss_bench.config import load_suite
from kdss_bench.models.registry import build_model
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stages import distill_stage, pretrain_stage
from kdss_bench.runner.workspace import BACKBONE_FILE
from tests.conftest import TINY_SUITE
from tests.runner.conftest import Emits, job_for, node_of
from tests.runner.stages.conftest import workspace_of


def saved(ws, key):
    path = ws.cache.folder("pretrain", key) / BACKBONE_FILE
    with safe_open(str(path), framework="pt") as stream:
        metadata = stream.metadata()
    return load_file(str(path)), metadata


def test_a_feature_set_is_pretrained_by_mse_with_a_head_as_wide_as_its_targets(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    node = plan.nodes[node_of(plan, "pretrain")]
    shutil.rmtree(results / ".cache" / "pretrain" / node.key)
    job = job_for(plan, node.id, results)
    ws, emits = workspace_of(job), Emits()
    record = pretrain_stage.run(ws, job, emits)

    state, metadata = saved(ws, node.key)
    width = state["fc.weight"].shape[0]
    assert width == 16, "the teacher's feature width: the last block of a convnet_8_16_bn"
    assert {k: metadata[k] for k in ("recipe", "target_kind", "num_outputs")} == {
        "recipe": "features_mse", "target_kind": "features", "num_outputs": str(width)}
    assert float(metadata["wall_time_s"]) == record.wall_time_s
    model = build_model(node.params["model"], in_shape=ws.in_shape, num_outputs=width)
    model.load_state_dict(state)  # strict: every weight of the architecture is there
    assert emits.kinds("pretrain")[0] == "start" and emits.kinds("pretrain")[-1] == "end"
    assert emits.events[0][4]["recipe"] == "features_mse" and emits.events[0][4]["key"] == node.key
    assert ws.cache.read_stage_record("pretrain", node.key)["kind"] == "pretrain"


def _with_random(tmp_path, extra: str = ""):
    path = tmp_path / "random.yaml"
    text = TINY_SUITE.replace("  no_pretrain: {}", "  no_pretrain: {}\n  random: {}")
    path.write_text(text + "pretrain_classifier: {epochs: 2, batch_size: 8}\n" + extra)
    suite = load_suite(path)
    return suite, build_plan(suite)


def test_a_labelled_set_is_pretrained_as_a_classifier_over_the_source_classes(tiny_done, tmp_path):
    _, plan = _with_random(tmp_path)
    results = tiny_done.results
    distill = job_for(plan, node_of(plan, "distill", method="random"), results)
    distill_stage.run(workspace_of(distill), distill, Emits())
    node = plan.nodes[node_of(plan, "pretrain", method="random")]
    job = job_for(plan, node.id, results)
    ws = workspace_of(job)
    pretrain_stage.run(ws, job, Emits())
    state, metadata = saved(ws, node.key)
    assert (metadata["recipe"], metadata["target_kind"], metadata["num_outputs"]) == ("classifier", "hard", "10")
    assert state["fc.weight"].shape[0] == 10 == ws.source.num_classes
    assert not any(key.startswith("protocol_") for key in metadata)


def test_under_mkdt_protocol_a_labelled_set_learns_the_teachers_features(tiny_done, tmp_path):
    _, plan = _with_random(tmp_path, "protocols: [krr_st, mkdt]\nmkdt_protocol: {epochs: 1, probe_steps: 1}\n")
    results = tiny_done.results
    distill = job_for(plan, node_of(plan, "distill", method="random"), results)
    distill_stage.run(workspace_of(distill), distill, Emits())
    node = plan.nodes[node_of(plan, "pretrain", method="random", protocol="mkdt")]
    job = job_for(plan, node.id, results)
    assert job.upstream_key("teacher") == plan.nodes[node_of(plan, "teacher")].key
    ws, emits = workspace_of(job), Emits()
    pretrain_stage.run(ws, job, emits)
    state, metadata = saved(ws, node.key)
    assert (metadata["recipe"], metadata["target_kind"]) == ("mkdt_mse", "hard")
    assert metadata["protocol_targets"] == "teacher" and metadata["protocol_target_dim"] == metadata["num_outputs"]
    assert state["fc.weight"].shape[0] == int(metadata["num_outputs"]) == 16
    assert emits.events[0][4]["recipe"] == "mkdt_mse"
