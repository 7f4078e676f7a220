"""kdss_bench.runner.stages.target_teacher_stage: ``eval: kd``'s classifier of a target, trained by
``kd_teacher``'s recipe and cached with its test accuracy."""

from __future__ import annotations

import json

import torch

from kdss_bench.config import load_suite
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stages import target_teacher_stage
from kdss_bench.runner.workspace import TARGET_TEACHER_FILE, TARGET_TEACHER_RECORD
from kdss_bench.train.target_teacher import load_target_teacher
from tests.conftest import TINY_SUITE
from tests.runner.conftest import Emits, job_for, node_of
from tests.runner.stages.conftest import workspace_of

KD_SUITE = TINY_SUITE.replace("  no_pretrain: {}\n", "  gaussian: {}\n").replace(
    "seeds: [0]\n", "seeds: [0]\neval: kd\nkd: {epochs: 2, batch_size: 8}\n"
    "kd_teacher: {epochs: 1, batch_size: 32, arch: convnet_8_16_bn}\n")


def test_it_trains_the_targets_classifier_and_caches_it_with_its_accuracy(write_suite, tmp_path):
    suite = load_suite(write_suite(KD_SUITE))
    plan = build_plan(suite)
    node = plan.nodes[node_of(plan, "target_teacher", target="textures3")]
    job = job_for(plan, node.id, tmp_path / "results", where={"worker": "w2"})
    ws, emits = workspace_of(job), Emits()
    record = target_teacher_stage.run(ws, job, emits)

    folder = ws.cache.folder("target_teacher", node.key)
    trained = json.loads((folder / TARGET_TEACHER_RECORD).read_text())
    target = ws.image_set("textures3")
    assert trained["arch"] == "convnet_8_16_bn" and trained["epochs"] == 1 and 0 <= trained["accuracy"] <= 100
    assert trained["iterations"] == -(-int(target.y_train.shape[0]) // 32)
    assert emits.kinds("target_teacher")[0] == "start" and emits.kinds("target_teacher")[-1] == "end"
    assert emits.events[0][4] == {"cached": False, "key": node.key, "arch": "convnet_8_16_bn", "target": "textures3",
                                  "worker": "w2"}
    assert emits.events[-1][4] == {"cached": False, "wall_time_s": record.wall_time_s,
                                   "accuracy": trained["accuracy"]}
    assert ws.cache.read_stage_record("target_teacher", node.key)["wall_time_s"] == record.wall_time_s

    classifier = load_target_teacher(folder / TARGET_TEACHER_FILE, arch="convnet_8_16_bn",
                                     num_classes=target.num_classes, in_shape=ws.in_shape)
    loaded = ws.target_teacher(node.key, "textures3")
    assert ws.target_teacher(node.key, "textures3") is loaded, "loaded once per process and device"
    for mine, theirs in zip(classifier.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    assert loaded(torch.zeros(1, *ws.in_shape)).shape == (1, target.num_classes)
