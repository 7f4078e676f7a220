"""The plan: shared stages once, keys that are the cells' config hashes, status and estimates from the store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.config import load_suite
from kdss_bench.runner.plan import CACHED, RUNNING_ELSEWHERE, TO_RUN, build_plan, plan_status
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.key_lock import key_lock
from tests.conftest import TINY_SUITE

REPO_SUITES = __import__("pathlib").Path(__file__).resolve().parents[2] / "suites"
runner = CliRunner()


@pytest.mark.data
def test_cifar10_transfer_has_one_teacher_one_distillation_per_method_one_pretraining_per_method_and_seed(data_root):
    suite = load_suite(REPO_SUITES / "cifar10-transfer.yaml", data_root=data_root)
    plan = build_plan(suite)
    kinds = [node.kind for node in plan.nodes.values()]
    methods = [m for m in suite.methods if m != "no_pretrain"]
    assert kinds.count("teacher") == 1
    assert kinds.count("distill") == len(methods)
    assert kinds.count("pretrain") == len(methods) * len(suite.seeds)
    assert kinds.count("evaluate") == len(plan.cells) == len(suite.methods) * len(suite.targets) * len(suite.seeds)
    experts = [n for n in plan.nodes.values() if n.kind == "intermediate"]
    assert len(experts) == suite.methods["mtt"].num_experts and all(n.artifact == "mtt_experts" for n in experts)
    mtt = next(n for n in plan.nodes.values() if n.kind == "distill" and n.params["method"] == "mtt")
    assert {n.id for n in experts} <= set(mtt.deps), "MTT's distillation waits for its experts"
    teacher = next(n for n in plan.nodes.values() if n.kind == "teacher")
    assert {c.split("__")[0] for c in teacher.cells} == {"krr_st"}, "kmeans clusters pixels here: no teacher"
    order = list(plan.nodes)
    for node in plan.nodes.values():
        assert all(order.index(dep) < order.index(node.id) for dep in node.deps), "dependencies come first"
        assert node.owner == node.cells[0]


def test_each_cell_hash_is_its_evaluation_key_and_its_config_lists_every_stage(write_suite):
    plan = build_plan(load_suite(write_suite()))
    for cell in plan.cells:
        evaluation = plan.nodes[plan.cell_nodes[cell.id]]
        config = plan.cell_config(cell.id)
        assert config["config_hash"] == evaluation.key == plan.config_hash(cell.id)
        if cell.method == "krr_st":
            assert set(config["stages"]) == {"teacher", "distill", "pretrain", "evaluate"}
            assert config["stages"]["pretrain"]["distilled"] == config["stages"]["distill"]["key"]
            assert config["stages"]["evaluate"]["pretrained"] == config["stages"]["pretrain"]["key"]
        else:
            assert set(config["stages"]) == {"evaluate"} and config["stages"]["evaluate"]["pretrained"] == "none"


def test_an_upstream_change_changes_every_key_downstream_and_nothing_else(write_suite, tmp_path):
    before = build_plan(load_suite(write_suite()))
    changed = TINY_SUITE.replace("outer_steps: 4", "outer_steps: 5")
    after = build_plan(load_suite(write_suite(changed, name="changed.yaml")))
    kinds_before = {n.kind + n.label: n.key for n in before.nodes.values()}
    kinds_after = {n.kind + n.label: n.key for n in after.nodes.values()}
    moved = {label for label in kinds_before if kinds_before[label] != kinds_after[label]}
    assert any(label.startswith("distill") for label in moved)
    assert not any(label.startswith("teacher") for label in moved), "the teacher does not depend on KRR-ST"
    assert not any("no_pretrain" in label for label in moved), "no_pretrain cells do not depend on it"
    assert all(label.startswith(("distill", "pretrain", "evaluate")) for label in moved)


def test_status_is_cached_after_a_run_and_running_elsewhere_under_another_lock(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"
    plan = build_plan(suite)
    assert set(plan_status(plan, results).values()) == {TO_RUN}
    run_suite(suite, results_root=results, device="cpu")
    assert set(plan_status(plan, results).values()) == {CACHED}
    distill = next(n for n in plan.nodes.values() if n.kind == "distill")
    changed = build_plan(load_suite(write_suite(TINY_SUITE.replace("outer_steps: 4", "outer_steps: 6"),
                                                name="other.yaml")))
    other = next(n for n in changed.nodes.values() if n.kind == "distill")
    assert other.key != distill.key
    with key_lock(results, *other.lock_name):  # another process building it, as far as a plan can tell
        assert plan_status(changed, results)[other.id] == RUNNING_ELSEWHERE
    assert plan_status(changed, results)[other.id] == TO_RUN


def test_plan_json_of_a_finished_suite_marks_every_node_cached_and_estimates_new_seeds(write_suite, tmp_path):
    path = write_suite()
    results = tmp_path / "results"
    run_suite(load_suite(path), results_root=results, device="cpu")
    out = runner.invoke(app, ["plan", str(path), "--results", str(results), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {node["status"] for node in data["nodes"]} == {CACHED} and data["summary"][CACHED] == 7
    assert data["estimated_s"] is None and data["unestimated"] == 0
    more = write_suite(TINY_SUITE.replace("seeds: [0]", "seeds: [0, 1]"), name="more.yaml")
    data = json.loads(runner.invoke(app, ["plan", str(more), "--results", str(results), "--json"]).output)
    new = [node for node in data["nodes"] if node["status"] == TO_RUN]
    assert sorted(node["kind"] for node in new) == ["evaluate"] * 4 + ["pretrain"], "seed 1: a pre-training, 4 cells"
    assert all(node["estimate_s"] is not None and node["estimate_s"] >= 0 for node in new), "same sizes ran before"
    assert data["estimated_s"] == pytest.approx(sum(node["estimate_s"] for node in new), abs=1e-2)


def test_plan_tree_names_every_stage_once(write_suite, tmp_path):
    out = runner.invoke(app, ["plan", str(write_suite()), "--results", str(tmp_path / "results")])
    assert out.exit_code == 0, out.output
    assert out.output.count("distill krr_st") == 1 and out.output.count("finetune ") == 4
    assert "7 to run" in out.output


def test_mkdt_targets_then_experts_then_distillation(write_suite):
    """MKDT's pieces are stages: the teacher's targets after the teacher, each KD expert after the
    targets, the distillation after all of them (and each expert can run on its own GPU)."""
    suite = TINY_SUITE.replace(
        "  krr_st: {outer_steps: 4",
        "  mkdt: {iterations: 2, num_experts: 3, train_epochs: 2, expert_epochs: 1, max_start_epoch: 1,"
        " syn_steps: 2, batch_syn: 6}\n  krr_st: {outer_steps: 4")
    plan = build_plan(load_suite(write_suite(suite)))
    by_label = {node.label: node for node in plan.nodes.values()}
    teacher = next(node for node in plan.nodes.values() if node.kind == "teacher")
    targets = by_label["mkdt teacher targets"]
    experts = [by_label[f"mkdt expert {i}/3"] for i in (1, 2, 3)]
    distill = next(n for n in plan.nodes.values() if n.kind == "distill" and n.params["method"] == "mkdt")
    assert targets.deps == (teacher.id,)
    assert all(expert.deps == (teacher.id, targets.id) for expert in experts)
    assert set(distill.deps) == {teacher.id, targets.id, *(e.id for e in experts)}
    assert len({e.key for e in experts}) == 3


def test_with_budgets_and_eval_models_one_distillation_serves_every_model_and_seed(write_suite):
    text = TINY_SUITE.replace("budget: 12\n", "budgets: [10, 20]\n").replace(
        "model: convnet_8_16_bn\n", "model: convnet_8_16_bn\neval_models: [convnet_8_16_bn, convnet_16_bn]\n").replace(
        "seeds: [0]", "seeds: [0, 1]")
    plan = build_plan(load_suite(write_suite(text)))
    kinds = [node.kind for node in plan.nodes.values()]
    assert kinds.count("teacher") == 1
    assert kinds.count("distill") == 2, "one per budget: every eval model and seed reads it"
    assert kinds.count("pretrain") == 2 * 2 * 2, "per budget, eval model and seed"
    assert kinds.count("evaluate") == len(plan.cells) == 2 * 2 * 2 * 2 + 2 * 2 * 2
    distill = {n.params["budget"]: n for n in plan.nodes.values() if n.kind == "distill"}
    for node in plan.nodes.values():
        if node.kind == "pretrain":
            assert node.deps == (distill[node.params["budget"]].id,) and node.parts["model"] == node.params["model"]
    config = plan.cell_config("krr_st__b20__convnet_16_bn__lfw_faces__seed1")
    assert (config["budget"], config["model"], config["distill_model"]) == (20, "convnet_16_bn", "convnet_8_16_bn")


def test_kd_evaluation_has_one_classifier_teacher_per_target_and_gaussian_needs_no_set(write_suite):
    text = TINY_SUITE.replace("  no_pretrain: {}\n", "  gaussian: {}\n").replace(
        "seeds: [0]\n", "seeds: [0]\neval: kd\nkd: {epochs: 2, batch_size: 8}\n"
        "kd_teacher: {epochs: 1, batch_size: 32, arch: convnet_8_16_bn}\n")
    plan = build_plan(load_suite(write_suite(text)))
    teachers = [n for n in plan.nodes.values() if n.kind == "target_teacher"]
    assert sorted(n.params["target"] for n in teachers) == ["lfw_faces", "textures3"]
    for cell in plan.cells:
        evaluation = plan.nodes[plan.cell_nodes[cell.id]]
        teacher = next(n for n in teachers if n.params["target"] == cell.target)
        assert teacher.id in evaluation.deps and evaluation.parts["target_teacher"] == teacher.key
        if cell.method == "gaussian":
            assert evaluation.deps == (teacher.id,) and evaluation.parts["noise_images"] == 12
