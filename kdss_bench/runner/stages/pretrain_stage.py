"""The pre-training stage: a backbone trained on a distilled set by its family's recipe, per seed."""

from __future__ import annotations

import time

from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import BACKBONE_FILE, Workspace
from kdss_bench.store.artifact_cache import write_stage_record


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from safetensors.torch import save_file

    from kdss_bench.methods.distilled_set import DistilledSet
    from kdss_bench.runner.pretrain_choice import pretrain_distilled, recipe_for

    node = job.node
    distilled = ws.cache.load("distill", job.upstream_key("distill"), DistilledSet.load)
    mkdt = node.params.get("protocol") == "mkdt"
    recipe, settings = (("mkdt_mse", dict(ws.suite.mkdt_protocol)) if mkdt
                        else recipe_for(ws.suite, distilled.target_kind, node.params["model"]))
    emit = emit_for("pretrain")
    emit("start", cached=False, key=node.key, recipe=recipe, **job.where)
    started = time.perf_counter()
    reset_peak_memory(ws.device.type)
    used: dict[str, str] = {}
    if mkdt:
        from kdss_bench.runner.mkdt_protocol import pretrain_under_mkdt_protocol

        teacher_key = job.upstream_key("teacher")
        teacher = ws.teacher(teacher_key) if teacher_key and distilled.target_kind != "features" else None
        model, facts = pretrain_under_mkdt_protocol(distilled, teacher, node.params["model"], settings,
                                                    seed=node.params["seed"], device=ws.device,
                                                    in_shape=ws.in_shape, emit=emit)
        used = {f"protocol_{key}": str(value) for key, value in facts.items()}
        width = facts["target_dim"]
    else:
        model = pretrain_distilled(recipe, settings, distilled, node.params["model"],
                                   num_source_classes=ws.source.num_classes, seed=node.params["seed"],
                                   device=ws.device, in_shape=ws.in_shape, emit=emit)
        width = _output_width(distilled, ws.source.num_classes)
    record = StageRecord.measured(job, time.perf_counter() - started, peak_memory_mb(ws.device.type))
    with ws.cache.create("pretrain", node.key) as folder:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / BACKBONE_FILE),
                  metadata={"wall_time_s": f"{record.wall_time_s:.3f}", "peak_memory_mb": str(record.peak_memory_mb),
                            "recipe": recipe, "target_kind": distilled.target_kind, "num_outputs": str(width),
                            **used})
        write_stage_record(folder, record.as_dict())
    emit("end", cached=False, wall_time_s=record.wall_time_s)
    return record


def _output_width(distilled, num_classes: int) -> int:
    from kdss_bench.runner.pretrain_choice import output_width

    return output_width(distilled, num_classes)
