"""``protocols:`` and ``label_fractions:``: every distilled set evaluated under KRR-ST's and MKDT's
protocol on a fraction of the target's labels, without distilling anything twice."""

from __future__ import annotations

import json

from safetensors import safe_open

from kdss_bench.config import load_suite
from kdss_bench.data.registry import load_dataset
from kdss_bench.report.results_table import ResultsTable
from kdss_bench.results import load
from kdss_bench.runner.plan import CACHED, build_plan, plan_status
from kdss_bench.runner.suite_runner import run_suite
from tests.conftest import TINY_SUITE

PROTOCOL_SUITE = TINY_SUITE.replace("  no_pretrain: {}\n", "  random: {}\n  no_pretrain: {}\n").replace(
    "targets: [lfw_faces, textures3]", "targets: [lfw_faces]").replace(
    "seeds: [0]\n", "seeds: [0]\nprotocols: [krr_st, mkdt]\nlabel_fractions: [0.5, 1.0]\n"
    "mkdt_protocol: {epochs: 2, batch_size: 8, probe_steps: 2}\npretrain_classifier: {epochs: 2, batch_size: 8}\n")


def test_the_grid_crosses_protocols_and_label_fractions(write_suite):
    plan = build_plan(load_suite(write_suite(PROTOCOL_SUITE)))
    ids = [cell.id for cell in plan.cells]
    assert len(ids) == 3 * 2 * 2, "3 methods x 2 protocols x 2 label fractions"
    assert "krr_st__proto_mkdt__lf0.5__lfw_faces__seed0" in ids
    kinds = [node.kind for node in plan.nodes.values()]
    assert kinds.count("distill") == 2, "one distillation per method serves both protocols"
    assert kinds.count("pretrain") == 4, "one pre-training per method and protocol serves both fractions"
    mkdt_pretrain = [n for n in plan.nodes.values() if n.kind == "pretrain" and n.params["protocol"] == "mkdt"]
    random_mkdt = next(n for n in mkdt_pretrain if n.params["method"] == "random")
    krr_mkdt = next(n for n in mkdt_pretrain if n.params["method"] == "krr_st")
    assert any(dep.startswith("teacher:") for dep in random_mkdt.deps), "hard-label sets regress the teacher's features"
    assert not any(dep.startswith("teacher:") for dep in krr_mkdt.deps), "KRR-ST's set has its own targets"
    probe = plan.nodes[plan.cell_nodes["random__proto_mkdt__lf0.5__lfw_faces__seed0"]]
    assert probe.parts["eval"] == "lbfgs_probe" and probe.parts["label_fraction"] == 0.5
    full = plan.nodes[plan.cell_nodes["random__proto_krr_st__lf1__lfw_faces__seed0"]]
    assert full.parts["eval"] == "finetune" and "label_fraction" not in full.parts


def test_suites_without_the_axes_keep_their_keys(write_suite):
    plain = build_plan(load_suite(write_suite(TINY_SUITE)))
    explicit = build_plan(load_suite(write_suite(TINY_SUITE.replace(
        "seeds: [0]\n", "seeds: [0]\nlabel_fraction: 1.0\nmkdt_protocol: {epochs: 3}\n"), name="b.yaml")))
    assert [n.key for n in plain.nodes.values()] == [n.key for n in explicit.nodes.values()]


def test_both_protocols_run_on_the_same_sets_and_the_table_ranks_them(write_suite, tmp_path):
    suite = load_suite(write_suite(PROTOCOL_SUITE))
    results = tmp_path / "results"
    outcome = run_suite(suite, results_root=results, device="cpu")
    assert not outcome.failed and len(outcome.finished) == 12
    folder = results / "tiny"
    probe = json.loads((folder / "random__proto_mkdt__lf0.5__lfw_faces__seed0" / "result.json").read_text())
    assert probe["eval"] == "lbfgs_probe" and probe["protocol"] == "mkdt" and probe["label_fraction"] == 0.5
    full_train = int(load_dataset("lfw_faces", resolution=16).y_train.shape[0])
    assert abs(probe["labelled_images"] - full_train / 2) <= 2 and probe["iterations"] == 2
    tuned = json.loads((folder / "krr_st__proto_krr_st__lf1__lfw_faces__seed0" / "result.json").read_text())
    assert tuned["eval"] == "finetune" and tuned["protocol"] == "krr_st" and tuned["label_fraction"] == 1.0
    distilled = {json.loads((p / "result.json").read_text())["stages"].get("distill")
                 for p in folder.iterdir() if p.name.startswith("krr_st")}
    assert len(distilled) == 1, "every KRR-ST cell read the one distilled set"
    pretrained = results / ".cache" / "pretrain" / probe["stages"]["pretrain"] / "backbone.safetensors"
    with safe_open(str(pretrained), "pt") as backbone:
        facts = backbone.metadata()
    assert facts["recipe"] == "mkdt_mse" and facts["protocol_targets"] == "teacher" and facts["protocol_lr"] == "0.1"

    rows = [json.loads((p / "result.json").read_text()) for p in folder.iterdir() if p.name != "_suite"]
    table = ResultsTable(rows)
    assert table.blocked and len(table.ranks) == 12
    blocks = [tuple(v for k, v in row.settings if k == "protocol") for row in table.rows]
    assert blocks == sorted(blocks, key=lambda b: ["krr_st", "mkdt"].index(b[0])), "one block per protocol"
    assert sorted(table.ranks[row] for row in table.rows if dict(row.settings) == {
        "protocol": "mkdt", "label_fraction": 0.5}) in ([1, 2, 3], [1.5, 1.5, 3], [1, 2.5, 2.5], [2, 2, 2])
    assert len(table.agreements) == 2, "krr_st vs mkdt at each label fraction"
    markdown = table.to_markdown()
    assert "| rank |" in markdown.splitlines()[0] and "Kendall's tau" in markdown
    assert set(plan_status(build_plan(suite), results).values()) == {CACHED}
    planned = load(results).tables()["tiny"]  # with the run's plan: every planned cell is in its block
    assert planned.missing == [] and planned.planned_total == 12 and len(planned.rows) == len(table.rows) == 12
    assert all(dict(row.settings).get("protocol") for row in planned.rows)
