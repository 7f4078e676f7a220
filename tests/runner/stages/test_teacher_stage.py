"""kdss_bench.runner.stages.teacher_stage: Barlow Twins trained on the source, saved as the teacher artifact."""

from __future__ import annotations

from kdss_bench.runner.stages import teacher_stage
from kdss_bench.runner.workspace import TEACHER_FILE
from kdss_bench.teacher.barlow_twins import barlow_twins_steps
from kdss_bench.teacher.checkpoint import load_teacher_checkpoint
from tests.runner.conftest import Emits, job_for, node_of
from tests.runner.stages.conftest import workspace_of


def test_it_trains_the_teacher_reports_its_progress_and_caches_a_loadable_checkpoint(tiny_plan, tmp_path):
    suite, plan = tiny_plan
    job = job_for(plan, node_of(plan, "teacher"), tmp_path / "results", where={"worker": "w0"})
    ws, emits = workspace_of(job), Emits()
    record = teacher_stage.run(ws, job, emits)

    spec = suite.teacher
    total = barlow_twins_steps(int(ws.source.x_train.shape[0]), spec.batch_size, spec.epochs)
    assert total == 1000 // 128  # digits: 1000 training images, one epoch of whole batches
    assert emits.kinds("teacher") == ["start", "progress", "end"], "every tenth step and the last"
    start = emits.events[0][4]
    assert start == {"cached": False, "key": job.node.key, "arch": spec.arch, "epochs": spec.epochs, "worker": "w0"}
    assert emits.events[0][3] == total
    progress = [(step, of) for stage, kind, step, of, values in emits.events if kind == "progress"]
    assert progress == [(total, total)]
    losses = [values["loss"] for _, kind, _, _, values in emits.events if kind == "progress"]
    assert all(isinstance(loss, float) for loss in losses)
    assert emits.events[-1][4] == {"cached": False, "wall_time_s": record.wall_time_s}

    assert (record.kind, record.key, record.where) == ("teacher", job.node.key, {"worker": "w0"})
    assert ws.cache.has("teacher", job.node.key)
    assert ws.cache.read_stage_record("teacher", job.node.key)["wall_time_s"] == record.wall_time_s
    teacher = load_teacher_checkpoint(ws.cache.folder("teacher", job.node.key) / TEACHER_FILE, arch=spec.arch,
                                      in_shape=ws.in_shape)
    assert all(not p.requires_grad for p in teacher.parameters())
