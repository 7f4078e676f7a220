"""An intermediate stage: one of a method's cached pieces (e.g. one MTT expert trajectory)."""

from __future__ import annotations

import time

from kdss_bench.errors import KdssError
from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import Workspace
from kdss_bench.store.artifact_cache import artifact_function, write_stage_record


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from kdss_bench.methods.intermediates import IntermediateRequest, method_intermediates
    from kdss_bench.methods.registry import load_method

    node = job.node
    method = node.params["method"]
    teacher_key = job.teacher_key
    request = IntermediateRequest(
        source=ws.source, settings=ws.suite.methods[method], model=ws.suite.method_model(method),
        seed=ws.suite.distill_seed, teacher_id=teacher_key or "", device=ws.device,
        teacher=(lambda: ws.teacher(teacher_key)) if teacher_key else None, artifact=artifact_function(ws.cache))
    pieces = {piece.key: piece for piece in method_intermediates(load_method(method), request)}
    if node.key not in pieces:
        raise KdssError(f"{node.label}: the method no longer lists this piece (key {node.key}); re-plan the run")
    piece = pieces[node.key]
    emit = emit_for(node.params["artifact"])
    emit("start", cached=False, key=node.key, label=node.label, **job.where)
    started = time.perf_counter()
    reset_peak_memory(ws.device.type)
    with ws.cache.create(piece.artifact, node.key) as folder:
        piece.build(folder, emit)
        record = StageRecord.measured(job, time.perf_counter() - started, peak_memory_mb(ws.device.type))
        write_stage_record(folder, record.as_dict())
    emit("end", cached=False, wall_time_s=record.wall_time_s)
    return record
