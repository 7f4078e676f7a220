"""What determines each stage's output: the one identity function of the plan and of result hashes.

Every stage's key is ``content_key(parts)`` of the parts below; each part list holds the keys of
the stage's inputs, so a key changes whenever anything upstream changes. A cell's config hash is
the key of its evaluation stage, and its ``config.yaml`` lists these same parts: what is hashed
is what is shown. Paths never enter an identity (datasets count by their content fingerprint, a
teacher checkpoint by its bytes), so moving the data root keeps every result valid.
"""

from __future__ import annotations

from typing import Any

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.cell import Cell
from kdss_bench.config import Suite
from kdss_bench.store.artifact_cache import content_key, file_sha256

NO_PRETRAINING = "none"
"""The pre-training key of a cell whose method has nothing to pre-train on (``no_pretrain``)."""


def stage_key(parts: dict[str, Any]) -> str:
    return content_key(parts)


def teacher_parts(suite: Suite, source_fingerprint: str) -> dict[str, Any]:
    """A checkpoint counts by its bytes; a trained teacher by its recipe and the source it learnt on."""
    spec = suite.teacher
    if spec.kind == "checkpoint":
        return {"stage": "teacher", "kind": "checkpoint", "arch": spec.arch,
                "checkpoint_sha256": file_sha256(str(spec.checkpoint))}
    identity = {k: v for k, v in spec.identity().items() if k != "checkpoint"}
    return {"stage": "teacher", "kind": spec.kind, "spec": identity, "source": source_fingerprint,
            "resolution": suite.resolution}


def distill_parts(suite: Suite, method: str, budget: int, source_fingerprint: str, teacher_key: str | None,
                  intermediate_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    settings = suite.methods[method]
    return {"stage": "distill", "method": method, "settings": settings.identity(), "source": source_fingerprint,
            "budget": budget, "resolution": suite.resolution, "model": suite.method_model(method),
            "teacher": teacher_key, "seed": suite.distill_seed, "inputs": settings.input_fingerprint(),
            "intermediates": list(intermediate_keys)}


def pretrain_parts(suite: Suite, distill_key: str, target_kind: str, seed: int, model: str) -> dict[str, Any]:
    """``model`` is the evaluation model pre-trained on the set (``eval_models``; the suite's model by
    default). ``target_kind`` 'auto' (an imported set, kind known once read) holds every recipe it may pick."""
    from kdss_bench.runner.pretrain_choice import recipe_for

    if target_kind == "auto":
        recipes = {kind: recipe_for(suite, kind, model) for kind in ("features", "hard", "soft")}
        return {"stage": "pretrain", "distilled": distill_key, "recipes": recipes, "model": model,
                "seed": seed, "target_kind": "auto"}
    recipe, settings = recipe_for(suite, target_kind, model)
    return {"stage": "pretrain", "distilled": distill_key, "recipe": recipe, "settings": settings,
            "model": model, "seed": seed, "target_kind": target_kind}


MKDT_PRETRAIN_KEYS = ("epochs", "batch_size", "lr", "momentum", "weight_decay", "learned_lr")
MKDT_PROBE_KEYS = ("probe_steps", "probe_max_iter", "probe_l2")


def mkdt_pretrain_parts(suite: Suite, distill_key: str, target_kind: str, seed: int, model: str,
                        teacher_key: str | None) -> dict[str, Any]:
    """MKDT's protocol pre-trains every set alike: MSE to its feature targets or, for a labelled set,
    to the teacher's features of its images (``teacher``), for a few epochs."""
    settings = {key: suite.mkdt_protocol[key] for key in MKDT_PRETRAIN_KEYS}
    return {"stage": "pretrain", "protocol": "mkdt", "distilled": distill_key, "recipe": "mkdt_mse",
            "settings": settings, "model": model, "seed": seed, "target_kind": target_kind,
            "teacher": teacher_key if target_kind != "features" else None}


def target_teacher_parts(suite: Suite, target: str, target_fingerprint: str) -> dict[str, Any]:
    """``eval: kd``'s classifier of a target: a checkpoint by its bytes, or its training recipe and data."""
    spec = suite.kd_teacher
    if spec["checkpoint"]:
        return {"stage": "target_teacher", "kind": "checkpoint", "arch": spec["arch"],
                "checkpoint_sha256": file_sha256(str(spec["checkpoint"]))}
    return {"stage": "target_teacher", "kind": "trained", "target": target, "target_data": target_fingerprint,
            "recipe": {k: v for k, v in spec.items() if k != "checkpoint"}, "resolution": suite.resolution}


def evaluation_of(suite: Suite, protocol: str) -> str:
    """What a cell's evaluation does: the suite's ``eval`` under the ``krr_st`` protocol, else ``lbfgs_probe``."""
    return suite.eval if protocol == "krr_st" else "lbfgs_probe"


def evaluate_parts(suite: Suite, cell: Cell, pretrain_key: str, target_fingerprint: str, model: str,
                   budget: int | None, target_teacher_key: str | None = None, protocol: str = "krr_st",
                   label_fraction: float = 1.0) -> dict[str, Any]:
    """A protocol other than ``krr_st`` and a label fraction below 1 enter the parts; at their defaults they
    are left out, so the keys of suites without them stay what they were."""
    evaluation = evaluation_of(suite, protocol)
    recipe = {"finetune": lambda: suite.finetune_for(cell.target), "linear_probe": lambda: dict(suite.linear_probe),
              "kd": lambda: dict(suite.kd),
              "lbfgs_probe": lambda: {key: suite.mkdt_protocol[key] for key in MKDT_PROBE_KEYS}}[evaluation]()
    extra: dict[str, Any] = {}
    if target_teacher_key:
        extra["target_teacher"] = target_teacher_key
    if protocol != "krr_st":
        extra["protocol"] = protocol
    if label_fraction != 1.0:
        extra.update(label_fraction=label_fraction, label_sampling=suite.label_sampling)
    return {"stage": "evaluate", "suite": suite.name, "cell": cell.id, "method": cell.method,
            "target": cell.target, "target_data": target_fingerprint, "seed": cell.seed,
            "pretrained": pretrain_key, "eval": evaluation, "recipe": recipe, "model": model, "budget": budget,
            **extra, "protocol_version": PROTOCOL_VERSION}
