"""kdss_bench.runner.stage_identity: every stage key changes when anything upstream changes, and paths never
enter a key (data by its content, a checkpoint by its bytes)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.config import load_suite
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stage_identity import (
    NO_PRETRAINING,
    distill_parts,
    evaluate_parts,
    evaluation_of,
    mkdt_pretrain_parts,
    pretrain_parts,
    stage_key,
    target_teacher_parts,
    teacher_parts,
)
from kdss_bench.store.artifact_cache import content_key
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.teacher.checkpoint import save_teacher_checkpoint
from tests.conftest import TINY_SUITE

TEACHER_LINE = TINY_SUITE[TINY_SUITE.index("teacher:"):TINY_SUITE.index("methods:")]


def keys_by_label(suite) -> dict[str, str]:
    return {f"{node.kind} {node.label}": node.key for node in build_plan(suite).nodes.values()}


@pytest.fixture
def suite(write_suite):
    return load_suite(write_suite())


def test_a_stage_key_is_the_content_key_of_its_parts():
    parts = {"stage": "distill", "budget": 12}
    assert stage_key(parts) == content_key(parts) and len(stage_key(parts)) == 20
    assert stage_key({"budget": 12, "stage": "distill"}) == stage_key(parts), "key order does not matter"
    assert stage_key({**parts, "budget": 13}) != stage_key(parts)


def test_a_trained_teacher_is_its_recipe_its_source_data_and_the_resolution(suite):
    parts = teacher_parts(suite, "fingerprint-a")
    assert parts["stage"] == "teacher" and parts["source"] == "fingerprint-a" and parts["resolution"] == 16
    assert "checkpoint" not in parts["spec"] and parts["spec"]["epochs"] == 1
    assert stage_key(teacher_parts(suite, "fingerprint-b")) != stage_key(parts)
    longer = dataclasses.replace(suite, teacher=dataclasses.replace(suite.teacher, epochs=2))
    assert stage_key(teacher_parts(longer, "fingerprint-a")) != stage_key(parts)
    assert stage_key(teacher_parts(dataclasses.replace(suite, resolution=32), "fingerprint-a")) != stage_key(parts)


def _checkpoint_suite(write_suite, tmp_path, folder: str, seed: int = 0):
    (tmp_path / folder).mkdir(exist_ok=True)
    torch.manual_seed(seed)
    save_teacher_checkpoint(build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)), tmp_path / folder / "t.pt")
    text = TINY_SUITE.replace(TEACHER_LINE, f"teacher: {{checkpoint: {tmp_path / folder / 't.pt'}, "
                                            "arch: convnet_8_16_bn}\n")
    return load_suite(write_suite(text, name=f"{folder}.yaml"))


def test_a_teacher_checkpoint_counts_by_its_bytes_not_its_path(write_suite, tmp_path):
    first = _checkpoint_suite(write_suite, tmp_path, "here")
    (tmp_path / "there").mkdir()
    shutil.copy(tmp_path / "here" / "t.pt", tmp_path / "there" / "t.pt")
    moved = load_suite(write_suite(TINY_SUITE.replace(TEACHER_LINE, f"teacher: {{checkpoint: "
                                                      f"{tmp_path / 'there' / 't.pt'}, arch: convnet_8_16_bn}}\n"),
                                   name="moved.yaml"))
    parts = teacher_parts(first, "unused")
    assert parts["kind"] == "checkpoint" and str(tmp_path) not in json.dumps(parts)
    assert keys_by_label(first) == keys_by_label(moved), "the same bytes elsewhere: every key the same"
    other = _checkpoint_suite(write_suite, tmp_path, "other", seed=1)
    changed = {label for label, key in keys_by_label(other).items() if keys_by_label(first).get(label) != key}
    assert changed and all(label.split()[0] in ("teacher", "distill", "pretrain", "evaluate") for label in changed)
    assert not any("no_pretrain" in label for label in changed), "cells without a teacher keep their keys"


def test_distill_parts_hold_everything_the_set_depends_on_but_how_often_it_checkpoints(suite):
    parts = distill_parts(suite, "krr_st", 12, "src", "teacher-key", ("expert-1",))
    assert parts["settings"] == suite.methods["krr_st"].identity() and "checkpoint_every" not in parts["settings"]
    assert (parts["budget"], parts["teacher"], parts["intermediates"], parts["inputs"]) == (12, "teacher-key",
                                                                                            ["expert-1"], None)
    base = stage_key(parts)
    for changed in (distill_parts(suite, "krr_st", 13, "src", "teacher-key", ("expert-1",)),
                    distill_parts(suite, "krr_st", 12, "other-src", "teacher-key", ("expert-1",)),
                    distill_parts(suite, "krr_st", 12, "src", "other-teacher", ("expert-1",)),
                    distill_parts(suite, "krr_st", 12, "src", "teacher-key", ("expert-2",)),
                    distill_parts(dataclasses.replace(suite, distill_seed=1), "krr_st", 12, "src", "teacher-key",
                                  ("expert-1",))):
        assert stage_key(changed) != base
    rarely = dataclasses.replace(suite, methods={**suite.methods, "krr_st": dataclasses.replace(
        suite.methods["krr_st"], checkpoint_every=1)})
    assert stage_key(distill_parts(rarely, "krr_st", 12, "src", "teacher-key", ("expert-1",))) == base


PINNED_DISTILL_KEYS = {  # each method's defaults on the tiny suite, source and teacher keys fixed
    "random": "0c5cdf522a0019d3acf8", "kmeans": "8cd27f322634eeed0d25", "dsa": "27f08817e047fac00c41",
    "dm": "604069de65f5685d4291", "mtt": "ce5e3a6650a4aebd2f10", "kip": "767dde399b4d064c36ee",
    "frepo": "df076c25d80487ef86c5", "krr_st": "af2d8c583de3f87b7cf6", "mkdt": "59495e154d8b35422c1d",
    "import": "5ade04e16f4e69debdcb",  # its folder left the key (files by their bytes; here: both missing)
}


def test_each_methods_distill_key_is_pinned_so_a_change_to_it_is_deliberate(suite):
    """A key that moves invalidates every cached set and result of that method: if this fails, the change
    must be meant (a new setting at a non-default, a bumped PROTOCOL_VERSION) and the pin updated with it."""
    keys = {}
    for method in method_names():
        if method_info(method).implementation is None:
            continue
        settings = method_info(method).settings()
        if method == "import":
            settings = dataclasses.replace(settings, path="/a/folder/that/is/not/there")
        alone = dataclasses.replace(suite, methods={method: settings})
        keys[method] = stage_key(distill_parts(alone, method, 12, "source-fingerprint", "teacher-key"))
    assert keys == PINNED_DISTILL_KEYS


def test_pretrain_parts_follow_the_recipe_chosen_by_the_target_kind(suite):
    features = pretrain_parts(suite, "d1", "features", 0, "convnet_8_16_bn")
    assert features["recipe"] == "features_mse" and features["settings"] == suite.pretrain
    hard = pretrain_parts(suite, "d1", "hard", 0, "convnet_8_16_bn")
    assert hard["recipe"] == "classifier" and stage_key(hard) != stage_key(features)
    auto = pretrain_parts(suite, "d1", "auto", 0, "convnet_8_16_bn")
    assert set(auto["recipes"]) == {"features", "hard", "soft"} and auto["target_kind"] == "auto"
    base = stage_key(features)
    assert stage_key(pretrain_parts(suite, "d2", "features", 0, "convnet_8_16_bn")) != base
    assert stage_key(pretrain_parts(suite, "d1", "features", 1, "convnet_8_16_bn")) != base
    assert stage_key(pretrain_parts(suite, "d1", "features", 0, "vgg11")) != base
    longer = dataclasses.replace(suite, pretrain={**suite.pretrain, "epochs": 3})
    assert stage_key(pretrain_parts(longer, "d1", "features", 0, "convnet_8_16_bn")) != base


def test_the_mkdt_protocol_pretrains_on_teacher_features_for_sets_without_them(suite):
    labelled = mkdt_pretrain_parts(suite, "d1", "hard", 0, "convnet_8_16_bn", "teacher-key")
    assert labelled["protocol"] == "mkdt" and labelled["teacher"] == "teacher-key"
    assert set(labelled["settings"]) == {"epochs", "batch_size", "lr", "momentum", "weight_decay", "learned_lr"}
    assert mkdt_pretrain_parts(suite, "d1", "features", 0, "convnet_8_16_bn", "teacher-key")["teacher"] is None
    assert stage_key(mkdt_pretrain_parts(suite, "d1", "hard", 0, "convnet_8_16_bn", "t2")) != stage_key(labelled)


def test_evaluate_parts_leave_default_protocol_and_fraction_out_so_old_keys_stay(suite):
    from kdss_bench.cell import Cell

    cell = Cell("krr_st", "lfw_faces", 0)
    parts = evaluate_parts(suite, cell, "p1", "target-fp", "convnet_8_16_bn", 12)
    assert parts["protocol_version"] == PROTOCOL_VERSION and parts["recipe"] == suite.finetune_for("lfw_faces")
    assert not {"protocol", "label_fraction", "label_sampling", "target_teacher"} & set(parts)
    base = stage_key(parts)
    quarter = evaluate_parts(suite, cell, "p1", "target-fp", "convnet_8_16_bn", 12, label_fraction=0.25)
    assert quarter["label_fraction"] == 0.25 and stage_key(quarter) != base
    mkdt = evaluate_parts(suite, cell, "p1", "target-fp", "convnet_8_16_bn", 12, protocol="mkdt")
    assert mkdt["eval"] == "lbfgs_probe" and mkdt["protocol"] == "mkdt" and set(mkdt["recipe"]) == {
        "probe_steps", "probe_max_iter", "probe_l2"}
    for other in (evaluate_parts(suite, cell, "p2", "target-fp", "convnet_8_16_bn", 12),
                  evaluate_parts(suite, cell, "p1", "other-fp", "convnet_8_16_bn", 12),
                  evaluate_parts(suite, Cell("krr_st", "lfw_faces", 1), "p1", "target-fp", "convnet_8_16_bn", 12),
                  evaluate_parts(dataclasses.replace(suite, finetune={**suite.finetune, "iterations": 5}), cell,
                                 "p1", "target-fp", "convnet_8_16_bn", 12),
                  evaluate_parts(suite, cell, "p1", "target-fp", "convnet_8_16_bn", 12, "tt")):
        assert stage_key(other) != base
    assert evaluation_of(suite, "krr_st") == suite.eval == "finetune" and evaluation_of(suite, "mkdt") == "lbfgs_probe"
    assert evaluate_parts(suite, Cell("no_pretrain", "lfw_faces", 0), NO_PRETRAINING, "fp", "convnet_8_16_bn",
                          None)["pretrained"] == "none"


def test_a_kd_classifier_teacher_is_its_recipe_and_target_data_or_its_checkpoints_bytes(suite, tmp_path):
    spec = {"arch": "convnet_8_16_bn", "epochs": 1, "batch_size": 32, "lr": 0.1, "seed": 0, "checkpoint": None}
    kd = dataclasses.replace(suite, kd_teacher=spec)
    trained = target_teacher_parts(kd, "lfw_faces", "fp")
    assert trained["kind"] == "trained" and "checkpoint" not in trained["recipe"] and trained["target_data"] == "fp"
    assert stage_key(target_teacher_parts(kd, "lfw_faces", "fp2")) != stage_key(trained)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "c.pt").write_bytes(b"same bytes")
    by_bytes = [target_teacher_parts(dataclasses.replace(suite, kd_teacher={**spec, "checkpoint": tmp_path / f /
                                                                            "c.pt"}), "lfw_faces", "fp")
                for f in ("a", "b")]
    assert by_bytes[0] == by_bytes[1] and by_bytes[0]["kind"] == "checkpoint"


def test_no_key_of_the_tiny_suite_holds_a_path(suite, tmp_path):
    plan = build_plan(suite)
    for node in plan.nodes.values():
        text = json.dumps(node.parts, default=str)
        assert str(tmp_path) not in text and "/" not in text.replace("\\/", ""), node.label


def _import_suite(write_suite, tmp_path, folder: str, labels: torch.Tensor):
    (tmp_path / folder).mkdir()
    torch.save(torch.zeros(12, 3, 16, 16), tmp_path / folder / "x_syn.pt")
    torch.save(labels, tmp_path / folder / "y_syn.pt")
    text = TINY_SUITE.replace("  no_pretrain: {}", f"  no_pretrain: {{}}\n  import: {{path: {tmp_path / folder}}}")
    return load_suite(write_suite(text, name=f"{folder}.yaml"))


def test_an_imported_set_counts_by_its_files_not_the_folder_they_are_in(write_suite, tmp_path):
    first = _import_suite(write_suite, tmp_path, "a", torch.arange(12) % 10)
    moved = _import_suite(write_suite, tmp_path, "b", torch.arange(12) % 10)
    assert keys_by_label(first) == keys_by_label(moved), "the same files in another folder: every key the same"
    parts = next(n.parts for n in build_plan(first).nodes.values() if n.kind == "distill" and "import" in n.label)
    assert "path" not in parts["settings"] and str(tmp_path) not in json.dumps(parts, default=str)
    assert parts["inputs"] == first.methods["import"].input_fingerprint() and parts["inputs"]

    relabelled = _import_suite(write_suite, tmp_path, "c", (torch.arange(12) + 1) % 10)
    changed = {label for label, key in keys_by_label(relabelled).items() if keys_by_label(first).get(label) != key}
    assert changed and changed == {label for label in keys_by_label(first) if " import" in label}, \
        "other files change the imported set's keys, and no other method's"
