"""The teacher stage: train the Barlow Twins target model once and cache it (a checkpoint needs nothing)."""

from __future__ import annotations

import time

from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import TEACHER_FILE, Workspace
from kdss_bench.store.artifact_cache import write_stage_record


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from kdss_bench.teacher.barlow_twins import barlow_twins_steps, train_barlow_twins
    from kdss_bench.teacher.checkpoint import save_teacher_checkpoint

    node, spec = job.node, ws.suite.teacher
    emit = emit_for("teacher")
    total = barlow_twins_steps(int(ws.source.x_train.shape[0]), spec.batch_size, spec.epochs)
    emit("start", total=total, cached=False, key=node.key, arch=spec.arch, epochs=spec.epochs, **job.where)
    started = time.perf_counter()
    reset_peak_memory(ws.device.type)
    model = train_barlow_twins(
        ws.source, arch=spec.arch, epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr,
        projector_dims=spec.projector_dims, seed=spec.seed, device=ws.device,
        on_progress=lambda step, total, loss: emit("progress", step=step, total=total, loss=loss))
    record = StageRecord.measured(job, time.perf_counter() - started, peak_memory_mb(ws.device.type))
    with ws.cache.create("teacher", node.key) as folder:
        save_teacher_checkpoint(model, folder / TEACHER_FILE)
        write_stage_record(folder, record.as_dict())
    emit("end", cached=False, wall_time_s=record.wall_time_s)
    return record
