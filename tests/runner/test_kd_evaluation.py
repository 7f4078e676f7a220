"""``eval: kd`` end to end: a classifier teacher per target, KD into each method's pre-trained student."""

from __future__ import annotations

import json

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.plan import CACHED, build_plan, plan_status
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.event_log import read_events
from tests.conftest import TINY_SUITE

KD_SUITE = TINY_SUITE.replace("  no_pretrain: {}\n", "  gaussian: {}\n").replace(
    "targets: [lfw_faces, textures3]", "targets: [lfw_faces]").replace(
    "seeds: [0]\n", "seeds: [0]\neval: kd\nkd: {epochs: 2, batch_size: 8}\n"
    "kd_teacher: {epochs: 1, batch_size: 32, arch: convnet_8_16_bn}\n")


def test_kd_cells_distil_the_trained_teacher_and_record_what_they_used(write_suite, tmp_path):
    suite = load_suite(write_suite(KD_SUITE))
    results = tmp_path / "results"
    outcome = run_suite(suite, results_root=results, device="cpu")
    assert not outcome.failed and sorted(outcome.finished) == ["gaussian__lfw_faces__seed0",
                                                               "krr_st__lfw_faces__seed0"]
    krr = json.loads((results / "tiny" / "krr_st__lfw_faces__seed0" / "result.json").read_text())
    noise = json.loads((results / "tiny" / "gaussian__lfw_faces__seed0" / "result.json").read_text())
    assert krr["eval"] == "kd" and krr["kd_images"] == 12 and krr["kd_gaussian"] is False
    assert noise["kd_gaussian"] is True and noise["kd_images"] == 12 and "pretrain" not in noise["stages"]
    assert krr["kd_teacher_accuracy"] == noise["kd_teacher_accuracy"] and 0 <= krr["kd_teacher_accuracy"] <= 100
    assert set(krr["stages"]) == {"teacher", "distill", "pretrain", "target_teacher"}
    starts = [e.stage for cell in ("krr_st__lfw_faces__seed0", "gaussian__lfw_faces__seed0")
              for e in read_events(results / "tiny" / cell / "events.jsonl")[0] if e.kind == "start"]
    assert starts.count("target_teacher") == 1 and starts.count("kd") == 2
    assert set(plan_status(build_plan(suite), results).values()) == {CACHED}


def test_a_classifier_checkpoint_replaces_the_teacher_stage(write_suite, tmp_path):
    from kdss_bench.data.registry import load_dataset
    from kdss_bench.train.recipes import TargetTeacherRecipe
    from kdss_bench.train.target_teacher import save_target_teacher, train_target_teacher

    target = load_dataset("lfw_faces", resolution=16)
    model, _ = train_target_teacher(target, TargetTeacherRecipe(epochs=1, batch_size=32), arch="convnet_8_16_bn",
                                    seed=3, device="cpu")
    checkpoint = tmp_path / "classifier.pt"
    save_target_teacher(model, checkpoint)
    text = KD_SUITE.replace("kd_teacher: {epochs: 1, batch_size: 32, arch: convnet_8_16_bn}",
                            f"kd_teacher: {{checkpoint: {checkpoint}, arch: convnet_8_16_bn}}")
    suite = load_suite(write_suite(text))
    plan = build_plan(suite)
    (teacher,) = [n for n in plan.nodes.values() if n.kind == "target_teacher"]
    assert teacher.artifact == "" and plan_status(plan, tmp_path / "results")[teacher.id] == CACHED
    outcome = run_suite(suite, results_root=tmp_path / "results", device="cpu")
    assert not outcome.failed and len(outcome.finished) == 2
    assert not (tmp_path / "results" / ".cache" / "target_teacher").exists(), "nothing trained"


@pytest.mark.parametrize("mode, expected", [("train", "train"), ("eval", "eval")])
def test_the_official_quirks_are_named_settings_of_the_suite(write_suite, mode, expected):
    suite = load_suite(write_suite(KD_SUITE.replace("kd: {epochs: 2, batch_size: 8}",
                                                    f"kd: {{epochs: 2, batch_size: 8, teacher_mode: {mode}, "
                                                    f"student_eval_mode: {mode}}}")))
    assert suite.kd["teacher_mode"] == expected and suite.kd["student_eval_mode"] == expected
    plan = build_plan(suite)
    evaluation = next(n for n in plan.nodes.values() if n.kind == "evaluate")
    assert evaluation.parts["recipe"]["teacher_mode"] == expected, "the quirk is part of the cell's identity"
