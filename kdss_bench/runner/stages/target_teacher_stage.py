"""The target-teacher stage of ``eval: kd``: a classifier of the target trained once per target and cached.

The official code loads a classifier checkpoint (``kd_teacher: {checkpoint: FILE}``, which needs no
stage); without one, this stage trains it on the target's training split by ``kd_teacher``'s recipe.
"""

from __future__ import annotations

import json
import time

from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import TARGET_TEACHER_FILE, TARGET_TEACHER_RECORD, Workspace
from kdss_bench.store.artifact_cache import write_stage_record


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from kdss_bench.train.recipes import TargetTeacherRecipe
    from kdss_bench.train.target_teacher import save_target_teacher, train_target_teacher

    node = job.node
    spec = ws.suite.kd_teacher
    recipe = TargetTeacherRecipe(**{k: v for k, v in spec.items() if k not in ("arch", "seed", "checkpoint")})
    target = ws.image_set(node.params["target"])
    emit = emit_for("target_teacher")
    emit("start", cached=False, key=node.key, arch=spec["arch"], target=node.params["target"], **job.where)
    started = time.perf_counter()
    reset_peak_memory(ws.device.type)
    model, trained = train_target_teacher(target, recipe, arch=spec["arch"], seed=spec["seed"], device=ws.device,
                                          emit=emit)
    record = StageRecord.measured(job, time.perf_counter() - started, peak_memory_mb(ws.device.type))
    with ws.cache.create("target_teacher", node.key) as folder:
        save_target_teacher(model, folder / TARGET_TEACHER_FILE)
        (folder / TARGET_TEACHER_RECORD).write_text(json.dumps(trained, indent=1, default=float), encoding="utf-8")
        write_stage_record(folder, record.as_dict())
    emit("end", cached=False, wall_time_s=record.wall_time_s, accuracy=trained["accuracy"])
    return record
