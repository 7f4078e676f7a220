"""The distillation stage: run the method on the source once per (method, budget) and cache its set."""

from __future__ import annotations

import logging
import time
from typing import Any

from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import Workspace
from kdss_bench.store.artifact_cache import artifact_function, write_stage_record
from kdss_bench.store.preview_file import PREVIEW_COUNT, write_preview
from kdss_bench.store.run_dir import RunDir

log = logging.getLogger(__name__)


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from kdss_bench.methods.context import DistillContext
    from kdss_bench.methods.registry import load_method

    node = job.node
    method = node.params["method"]
    emit = emit_for("distill")
    teacher = ws.teacher(job.teacher_key) if job.teacher_key else None
    emit("start", cached=False, key=node.key, **job.where)
    started = time.perf_counter()
    reset_peak_memory(ws.device.type)
    preview_path = RunDir(ws.results_root, ws.suite.name, node.owner).preview_path
    method_emit, preview = previewing(emit, preview_path)
    ctx = DistillContext(
        source=ws.source, teacher=teacher, budget=node.params["budget"], settings=ws.suite.methods[method],
        model=ws.suite.method_model(method), seed=ws.suite.distill_seed, device=ws.device, emit=method_emit,
        work_dir=ws.cache.work_dir("distill", node.key), teacher_id=job.teacher_key or "",
        artifact=artifact_function(ws.cache), preview=preview)
    distilled = load_method(method).distill(ctx)
    peak = peak_memory_mb(ws.device.type)
    distilled.manifest.setdefault("cost", {})["peak_memory_mb"] = peak
    record = StageRecord.measured(job, time.perf_counter() - started, peak)
    with ws.cache.create("distill", node.key) as folder:
        distilled.save(folder)
        write_stage_record(folder, record.as_dict())
    emit("end", cached=False, wall_time_s=record.wall_time_s,
         distill_wall_time_s=distilled.manifest.get("cost", {}).get("wall_time_s"))
    return record


def previewing(emit, preview_path):
    """The method's emit and its ``preview``, which writes the owner cell's ``preview.npz``; a preview
    called without a step takes the step and total of the latest distill event."""
    latest = {"step": 0, "total": 0}

    def tracking_emit(kind: str, step: int | None = None, total: int | None = None, **values: Any) -> None:
        if step is not None:
            latest["step"] = step
        if total is not None:
            latest["total"] = total
        emit(kind, step=step, total=total, **values)

    def preview(images, step: int | None = None, total: int | None = None) -> None:
        write_images_preview(preview_path, images, latest["step"] if step is None else step,
                             latest["total"] if total is None else total)

    return tracking_emit, preview


def write_images_preview(path, images, step: int, total: int) -> None:
    """Best effort: a preview that cannot be written is logged, never a reason to fail the stage."""
    if images.ndim != 4:
        return
    try:
        pixels = images[:PREVIEW_COUNT].detach().float().cpu().numpy()
        write_preview(path, pixels, step=int(step), total=int(total))
    except (OSError, ValueError) as exc:
        log.warning("preview %s not written: %s", path, exc)
