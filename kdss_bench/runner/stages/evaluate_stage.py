"""The evaluation stage: fine-tune, linear-probe or distil knowledge into one cell's backbone on its target,
under its protocol and label fraction; writes result.json."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.report.statistics import finite_or_none
from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory
from kdss_bench.runner.stage_identity import NO_PRETRAINING
from kdss_bench.runner.stage_job import EmitFactory, StageJob, StageRecord
from kdss_bench.runner.workspace import BACKBONE_FILE, Workspace
from kdss_bench.store.run_dir import RunDir


def run(ws: Workspace, job: StageJob, emit_for: EmitFactory) -> StageRecord:
    from kdss_bench.data.label_fraction import take_label_fraction
    from kdss_bench.runner.environment import device_name, git_commit, versions
    from kdss_bench.train.finetune import FinetuneRecipe, finetune
    from kdss_bench.train.lbfgs_probe import LbfgsProbeRecipe, lbfgs_probe
    from kdss_bench.train.linear_probe import LinearProbeRecipe, linear_probe

    node, suite = job.node, ws.suite
    params = node.params
    run_dir = RunDir(ws.results_root, suite.name, params["cell"])
    model = params["model"]
    evaluation = node.parts["eval"]
    init = _pretrained(ws, node.parts["pretrained"], model)
    _write_set_preview(ws, job, run_dir)
    target = ws.image_set(params["target"])
    fraction = float(params.get("label_fraction", 1.0))
    extra: dict[str, Any] = {}
    if fraction != 1.0:
        target = take_label_fraction(target, fraction, params["seed"], suite.label_sampling)
        extra.update(label_fraction=fraction, label_sampling=suite.label_sampling,
                     labelled_images=int(target.y_train.shape[0]))
    if suite.has_evaluation_axes:
        extra.update(protocol=params.get("protocol", "krr_st"), label_fraction=fraction)
    emit = emit_for(evaluation)
    if evaluation == "kd":
        outcome, started, kd_extra = _distil_knowledge(ws, job, model, init, target, emit)
        extra.update(kd_extra)
    else:
        recipe = {"finetune": lambda: FinetuneRecipe(**suite.finetune_for(params["target"])),
                  "linear_probe": lambda: LinearProbeRecipe(**suite.linear_probe),
                  "lbfgs_probe": lambda: LbfgsProbeRecipe(steps=node.parts["recipe"]["probe_steps"],
                                                          max_iter=node.parts["recipe"]["probe_max_iter"],
                                                          l2=node.parts["recipe"]["probe_l2"])}[evaluation]()
        total = recipe.steps if isinstance(recipe, LbfgsProbeRecipe) else recipe.iterations
        emit("start", total=total, key=node.key, target=params["target"], **job.where)
        reset_peak_memory(ws.device.type)
        started = time.perf_counter()
        run = {"finetune": finetune, "linear_probe": linear_probe, "lbfgs_probe": lbfgs_probe}[evaluation]
        outcome = run(model, init, target, recipe, seed=params["seed"], device=ws.device, emit=emit)
    wall = time.perf_counter() - started
    emit("end", wall_time_s=wall)
    peak = peak_memory_mb(ws.device.type)
    record = StageRecord.measured(job, wall, peak)
    built_here = [u for u in job.upstream if u.built_by == params["cell"]]
    distill = next((u for u in job.upstream if u.kind == "distill"), None)
    result: dict[str, Any] = {
        "suite": suite.name, "cell": params["cell"], "method": params["method"], "source": suite.source,
        "target": params["target"], "seed": params["seed"], "budget": params["budget"],
        "resolution": suite.resolution, "model": model, "distill_model": suite.method_model(params["method"]),
        "eval": evaluation, "recipe": suite.recipe,
        "accuracy": round(float(outcome.accuracy), 4),
        "test_loss": finite_or_none(outcome.loss, 6),
        "train_loss": finite_or_none(outcome.train_loss, 6),
        "iterations": outcome.iterations,
        "images_per_s": round(float(outcome.images_per_s), 1),
        "eval_wall_time_s": round(wall, 3),
        "peak_memory_mb": max([peak] + [u.peak_memory_mb for u in job.upstream]),
        "stages": _stage_keys(job),
        "cached_stages": sorted({u.kind for u in job.upstream if u.built_by != params["cell"]}),
        "distill_wall_time_s": round(distill.wall_time_s, 3) if distill else 0.0,
        "config_hash": node.key, "protocol_version": PROTOCOL_VERSION,
        "git_commit": git_commit(), "versions": versions(), "device": device_name(ws.device),
        "threads": record.threads, "executor": job.where.get("executor"), "worker": job.where.get("worker"),
        "host": job.where.get("host"),
        "wall_time_s": round(wall + sum(u.wall_time_s for u in built_here), 3),
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stage_record": record.as_dict(),
        **extra,
    }
    run_dir.write_result(result)
    emit_for("cell")("end", step=job.cell_step[0], total=job.cell_step[1], accuracy=result["accuracy"],
                     wall_time_s=result["wall_time_s"])
    record.result = result
    return record


def _distil_knowledge(ws: Workspace, job: StageJob, model: str, init, target, emit):
    """``eval: kd``: the target's classifier teacher distilled into the pre-trained student on the method's
    distilled images (DSA-augmented) or, for ``gaussian``, a random student on noise."""
    import json

    import torch

    from kdss_bench.methods.distilled_set import DistilledSet
    from kdss_bench.runner.workspace import TARGET_TEACHER_RECORD
    from kdss_bench.train.knowledge_distillation import knowledge_distill
    from kdss_bench.train.recipes import KdRecipe

    node, suite, params = job.node, ws.suite, job.node.params
    recipe = KdRecipe(**suite.kd)
    teacher_key = job.upstream_key("target_teacher")
    teacher = ws.target_teacher(teacher_key, params["target"])
    distill = job.upstream_key("distill")
    gaussian = distill is None
    if gaussian:
        images = torch.empty(int(node.parts.get("noise_images", suite.budget)), 3, suite.resolution, suite.resolution)
    else:
        images = ws.cache.load("distill", distill, DistilledSet.load).images
    batches = -(-int(images.shape[0]) // recipe.batch_size)
    emit("start", total=recipe.epochs * batches, key=node.key, target=params["target"], gaussian=gaussian,
         **job.where)
    reset_peak_memory(ws.device.type)
    started = time.perf_counter()
    outcome = knowledge_distill(model, init, teacher, images, target, recipe, augment=not gaussian,
                                gaussian=gaussian, seed=params["seed"], device=ws.device, emit=emit)
    extra = {"kd_images": int(images.shape[0]), "kd_gaussian": gaussian}
    if not suite.kd_teacher["checkpoint"]:
        trained = ws.cache.folder("target_teacher", teacher_key) / TARGET_TEACHER_RECORD
        try:
            extra["kd_teacher_accuracy"] = round(float(json.loads(trained.read_text())["accuracy"]), 4)
        except (OSError, ValueError, KeyError):
            pass
    return outcome, started, extra


def _pretrained(ws: Workspace, pretrain_key: str, model_name: str):
    """The pre-trained ``model_name`` (head width read from its ``fc``), or None for no pre-training."""
    if pretrain_key == NO_PRETRAINING:
        return None
    from safetensors.torch import load_file

    from kdss_bench.models.registry import build_model

    def read(folder):
        state = load_file(str(folder / BACKBONE_FILE))
        model = build_model(model_name, in_shape=ws.in_shape, num_outputs=int(state["fc.weight"].shape[0]))
        model.load_state_dict(state)
        return model

    return ws.cache.load("pretrain", pretrain_key, read).to(ws.device)


def _write_set_preview(ws: Workspace, job: StageJob, run_dir: RunDir) -> None:
    """Every cell shows its distilled set (a watcher opens any cell), also when the set was cached."""
    distill = job.upstream_key("distill")
    if distill is None or run_dir.preview_path.exists():
        return
    from kdss_bench.methods.distilled_set import DistilledSet
    from kdss_bench.runner.stages.distill_stage import write_images_preview

    distilled = ws.cache.load("distill", distill, DistilledSet.load)
    steps = distilled.manifest.get("cost", {}).get("steps")
    steps = steps if isinstance(steps, int) else 0
    run_dir.create()
    write_images_preview(run_dir.preview_path, distilled.images, steps, steps)


def _stage_keys(job: StageJob) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for upstream in job.upstream:
        if upstream.kind == "intermediate":
            keys.setdefault("intermediates", []).append(upstream.key)
        else:
            keys[upstream.kind] = upstream.key
    return keys
