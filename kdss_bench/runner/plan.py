"""suite -> cells -> plan: the DAG of stages a run will execute, each keyed once.

Nodes are the teacher, a method's intermediates (e.g. MTT's experts, one per node), one
distillation per (method, budget), one pre-training per (method, budget, eval model, protocol,
seed), a classifier teacher per target for ``eval: kd``, and one evaluation per cell. A stage
shared by many cells appears once and lists them as its dependants; its events go to its *owner*,
the first of them in grid order, so that a watcher sees the work in a cell folder. Keys come
from ``stage_identity`` (the only place that decides what a stage's output depends on); a cell's
config hash is its evaluation's key. Building a plan reads the datasets (their fingerprints are
part of the keys) but runs nothing. ``status`` says what is already cached, what another process
is building right now and what is left to run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.cell import Cell
from kdss_bench.config import Suite
from kdss_bench.runner.grid import cell_budget, cell_label_fraction, cell_model, cell_protocol, expand_grid
from kdss_bench.runner.resources import Resources
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
from kdss_bench.store.artifact_cache import ArtifactCache
from kdss_bench.store.key_lock import held_elsewhere
from kdss_bench.store.run_dir import RunDir

CACHED, TO_RUN, RUNNING_ELSEWHERE, MISSING = "cached", "to run", "running elsewhere", "missing"
STATUSES = (CACHED, TO_RUN, RUNNING_ELSEWHERE, MISSING)


@dataclass(frozen=True)
class StageNode:
    kind: str
    """``teacher``, ``intermediate``, ``distill``, ``pretrain`` or ``evaluate``."""
    key: str
    label: str
    deps: tuple[str, ...]
    """Ids of the nodes whose outputs this one reads."""
    params: dict[str, Any]
    """What the stage job needs besides the suite: method, seed, cell, artifact name."""
    parts: dict[str, Any] = field(repr=False)
    size: dict[str, Any] = field(repr=False)
    """What its run time depends on: earlier stages of the same kind and size estimate its cost."""
    owner: str = ""
    cells: tuple[str, ...] = ()
    resources: Resources = Resources()
    artifact: str = ""
    """Its cache folder (``.cache/<artifact>/<key>``); empty for a checkpoint teacher and evaluations."""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def lock_name(self) -> tuple[str, str]:
        """(kind, name) of the lock its builder holds: an evaluation locks its cell folder."""
        if self.kind == "evaluate":
            return "cell", f"{self.params['suite']}__{self.params['cell']}"
        return self.artifact or self.kind, self.key


@dataclass
class Plan:
    suite: Suite
    cells: list[Cell]
    nodes: dict[str, StageNode]
    """By id, in an order where every node comes after its dependencies."""
    cell_nodes: dict[str, str]
    """Cell id -> the id of its evaluation node."""
    chains: dict[str, tuple[str, ...]]
    """Cell id -> every node it needs, its evaluation last (in plan order)."""

    def config_hash(self, cell_id: str) -> str:
        return self.nodes[self.cell_nodes[cell_id]].key

    def cell_config(self, cell_id: str) -> dict[str, Any]:
        """The resolved configuration written to the cell's ``config.yaml``: exactly what its hash covers."""
        suite = self.suite
        evaluation = self.nodes[self.cell_nodes[cell_id]]
        stages: dict[str, Any] = {}
        for node_id in self.chains[cell_id]:
            node = self.nodes[node_id]
            if node.kind == "intermediate":
                stages.setdefault("intermediates", []).append(node.key)
            else:
                stages[node.kind] = {"key": node.key, **node.parts}
        params = evaluation.params
        return {"suite": suite.name, "cell": cell_id, "method": params["method"], "target": params["target"],
                "seed": params["seed"], "source": suite.source, "budget": params["budget"],
                "resolution": suite.resolution, "model": params["model"],
                "distill_model": suite.method_model(params["method"]), "eval": evaluation.parts["eval"],
                "protocol": params["protocol"], "label_fraction": params["label_fraction"], "recipe": suite.recipe,
                "config_hash": evaluation.key, "protocol_version": PROTOCOL_VERSION, "stages": stages}

    def dependants(self, node_id: str) -> list[str]:
        return [other.id for other in self.nodes.values() if node_id in other.deps]


def build_plan(suite: Suite, cells: Iterable[Cell] | None = None) -> Plan:
    """The DAG of ``cells`` (all of the suite's by default); loads the datasets, runs nothing."""
    from kdss_bench.data.registry import load_dataset
    from kdss_bench.methods.intermediates import IntermediateRequest, method_intermediates
    from kdss_bench.methods.registry import load_method, method_info, needs_teacher

    cells = list(expand_grid(suite) if cells is None else cells)

    def image_set(name: str):
        return load_dataset(name, resolution=suite.resolution, data_root=suite.data_root, declared=suite.datasets)

    source = image_set(suite.source)
    builder = _PlanBuilder(suite)
    teacher_id: str | None = None
    if any(needs_teacher(c.method, suite.methods[c.method]) or _mkdt_needs_teacher(suite, c) for c in cells):
        parts = teacher_parts(suite, source.fingerprint())
        checkpoint = suite.teacher.kind == "checkpoint"
        size = {"kind": suite.teacher.kind, "arch": suite.teacher.arch, "resolution": suite.resolution}
        if not checkpoint:
            size.update(epochs=suite.teacher.epochs, batch_size=suite.teacher.batch_size,
                        train_images=int(source.x_train.shape[0]))
        label = (f"teacher {suite.teacher.arch} (checkpoint {Path(str(suite.teacher.checkpoint)).name})"
                 if checkpoint else f"teacher {suite.teacher.arch} (Barlow Twins, {suite.teacher.epochs} epochs)")
        teacher_id = builder.add("teacher", parts, label=label, deps=(), params={}, size=size,
                                 artifact="" if checkpoint else "teacher")

    target_teacher_ids: dict[str, str] = {}
    distill_ids: dict[tuple[str, int], str | None] = {}
    intermediate_ids: dict[str, tuple[str, ...]] = {}
    pretrain_ids: dict[tuple[str, int | None, str, int, str], str] = {}
    chains: dict[str, tuple[str, ...]] = {}
    cell_nodes: dict[str, str] = {}
    for cell in cells:
        info = method_info(cell.method)
        budget, model = cell_budget(suite, cell), cell_model(suite, cell)
        chain: list[str] = []
        settings = suite.methods[cell.method]
        uses_teacher = info.implementation is not None and needs_teacher(cell.method, settings)
        teacher_key = builder.nodes[teacher_id].key if uses_teacher and teacher_id else None
        if info.implementation is not None and cell.method not in intermediate_ids:
            request = IntermediateRequest(source=source, settings=settings, model=suite.method_model(cell.method),
                                          seed=suite.distill_seed, teacher_id=teacher_key or "")
            by_key: dict[str, str] = {}
            for piece in method_intermediates(load_method(cell.method), request):
                deps = ((teacher_id,) if piece.needs_teacher and teacher_id else ()) + tuple(
                    by_key[key] for key in piece.after)
                by_key[piece.key] = builder.add(
                    "intermediate", {"artifact": piece.artifact, **piece.parts}, key=piece.key, label=piece.label,
                    deps=deps, params={"method": cell.method, "artifact": piece.artifact}, size=piece.size,
                    artifact=piece.artifact)
            intermediate_ids[cell.method] = tuple(by_key.values())
        if (cell.method, budget) not in distill_ids:
            distill_ids[(cell.method, budget)] = None
            if info.implementation is not None:
                piece_ids = intermediate_ids[cell.method]
                parts = distill_parts(suite, cell.method, budget, source.fingerprint(), teacher_key,
                                      tuple(builder.nodes[i].key for i in piece_ids))
                deps = ((teacher_id,) if uses_teacher and teacher_id else ()) + piece_ids
                size = {"method": cell.method, "settings": settings.identity(), "budget": budget,
                        "train_images": int(source.x_train.shape[0]), "resolution": suite.resolution,
                        "model": suite.method_model(cell.method)}
                distill_ids[(cell.method, budget)] = builder.add(
                    "distill", parts, label=f"distill {cell.method} ({budget} images)", deps=deps,
                    params={"method": cell.method, "budget": budget}, size=size, artifact="distill")
        distill_id = distill_ids[(cell.method, budget)]
        protocol, fraction = cell_protocol(suite, cell), cell_label_fraction(suite, cell)
        if distill_id is not None:
            chain.extend(_ancestors(builder.nodes, distill_id))
            key = (cell.method, budget, model, cell.seed, protocol)
            if key not in pretrain_ids:
                deps: tuple[str, ...] = (distill_id,)
                if protocol == "mkdt":
                    needs = _mkdt_needs_teacher(suite, cell)
                    parts = mkdt_pretrain_parts(suite, builder.nodes[distill_id].key, info.target_kind, cell.seed,
                                                model, builder.nodes[teacher_id].key if needs and teacher_id else None)
                    deps += (teacher_id,) if needs and teacher_id else ()
                    what = f"pre-train {model} on {cell.method} ({budget} images, MKDT protocol), seed {cell.seed}"
                else:
                    parts = pretrain_parts(suite, builder.nodes[distill_id].key, info.target_kind, cell.seed, model)
                    what = f"pre-train {model} on {cell.method} ({budget} images), seed {cell.seed}"
                size = {k: v for k, v in parts.items() if k not in ("distilled", "seed", "teacher")}
                size["budget"] = budget
                pretrain_ids[key] = builder.add(
                    "pretrain", parts, label=what, deps=deps,
                    params={"method": cell.method, "seed": cell.seed, "budget": budget, "model": model,
                            "protocol": protocol}, size=size, artifact="pretrain")
            chain.extend(_ancestors(builder.nodes, pretrain_ids[key]))
            pretrain_key = builder.nodes[pretrain_ids[key]].key
        else:
            pretrain_key = NO_PRETRAINING
        target = image_set(cell.target)
        teacher_dep: tuple[str, ...] = ()
        if suite.eval == "kd":  # the target's classifier teacher: one per target, shared by every method
            if cell.target not in target_teacher_ids:
                spec = suite.kd_teacher
                teacher_size = {"arch": spec["arch"], "epochs": spec["epochs"], "batch_size": spec["batch_size"],
                                "train_images": int(target.x_train.shape[0]), "resolution": suite.resolution}
                target_teacher_ids[cell.target] = builder.add(
                    "target_teacher", target_teacher_parts(suite, cell.target, target.fingerprint()),
                    label=(f"classifier teacher of {cell.target} ({spec['arch']}"
                           + (", checkpoint)" if spec["checkpoint"] else f", {spec['epochs']} epochs)")),
                    deps=(), params={"target": cell.target}, size=teacher_size,
                    artifact="" if spec["checkpoint"] else "target_teacher")
            teacher_dep = (target_teacher_ids[cell.target],)
            chain.append(target_teacher_ids[cell.target])
        teacher_key = builder.nodes[teacher_dep[0]].key if teacher_dep else None
        parts = evaluate_parts(suite, cell, pretrain_key, target.fingerprint(), model, budget, teacher_key,
                               protocol=protocol, label_fraction=fraction)
        if suite.eval == "kd" and distill_id is None:
            parts["noise_images"] = suite.budget  # the gaussian baseline: this many noise images per epoch
        evaluation_kind = evaluation_of(suite, protocol)
        size = {"eval": evaluation_kind, "recipe": parts["recipe"], "model": model, "resolution": suite.resolution,
                "train_images": max(1, round(int(target.x_train.shape[0]) * fraction)),
                "classes": target.num_classes, "kd_images": budget if suite.eval == "kd" else None}
        pretrained = ((pretrain_ids[(cell.method, budget, model, cell.seed, protocol)],)
                      if distill_id is not None else ())
        deps = pretrained + teacher_dep
        evaluation = builder.add(
            "evaluate", parts, label=f"{evaluation_kind} {cell.id}", deps=deps,
            params={"suite": suite.name, "cell": cell.id, "method": cell.method, "target": cell.target,
                    "seed": cell.seed, "budget": budget, "model": model, "protocol": protocol,
                    "label_fraction": fraction}, size=size)
        chain.append(evaluation)
        cell_nodes[cell.id] = evaluation
        order = {node_id: i for i, node_id in enumerate(builder.nodes)}
        chains[cell.id] = tuple(sorted(dict.fromkeys(chain), key=order.__getitem__))
    return Plan(suite=suite, cells=cells, nodes=builder.finish(chains, [c.id for c in cells]),
                cell_nodes=cell_nodes, chains=chains)


def _mkdt_needs_teacher(suite: Suite, cell: Cell) -> bool:
    """Under MKDT's protocol a set without feature targets is pre-trained on the teacher's features of its
    images (MKDT's own baselines: ``eval.py`` lines 57-66, the target representations of the subset)."""
    from kdss_bench.methods.registry import method_info

    info = method_info(cell.method)
    return cell_protocol(suite, cell) == "mkdt" and info.implementation is not None and info.target_kind != "features"


class _PlanBuilder:
    """Adds nodes once by id; ``finish`` fills in each node's dependant cells and owner."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.nodes: dict[str, StageNode] = {}

    def add(self, kind: str, parts: dict[str, Any], *, label: str, deps: tuple[str, ...], params: dict[str, Any],
            size: dict[str, Any], artifact: str = "", key: str | None = None) -> str:
        node = StageNode(kind=kind, key=key or stage_key(parts), label=label, deps=deps, params=params,
                         parts=parts, size=size, resources=Resources.of_suite(self.suite.resources, kind),
                         artifact=artifact)
        self.nodes.setdefault(node.id, node)
        return node.id

    def finish(self, chains: dict[str, tuple[str, ...]], cell_order: list[str]) -> dict[str, StageNode]:
        users: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for cell_id in cell_order:
            for node_id in chains[cell_id]:
                users[node_id].append(cell_id)
        finished = {}
        for node_id, node in self.nodes.items():
            cells = tuple(users[node_id])
            finished[node_id] = dataclasses.replace(node, cells=cells, owner=cells[0] if cells else "")
        return finished


def _ancestors(nodes: dict[str, StageNode], node_id: str) -> list[str]:
    """``node_id`` and everything it depends on, dependencies first."""
    seen: dict[str, None] = {}

    def visit(current: str) -> None:
        for dep in nodes[current].deps:
            if dep not in seen:
                visit(dep)
        seen.setdefault(current, None)

    visit(node_id)
    return list(seen)


def node_status(suite: Suite, node: StageNode, results_root: str | Path) -> str:
    """``cached``, ``running elsewhere`` (another process holds its lock), ``to run`` or ``missing``."""
    results_root = Path(results_root)
    if node.kind in ("teacher", "target_teacher") and not node.artifact:  # a checkpoint file: nothing to build
        checkpoint = suite.teacher.checkpoint if node.kind == "teacher" else suite.kd_teacher["checkpoint"]
        return CACHED if checkpoint is not None and Path(checkpoint).is_file() else MISSING
    if node.kind == "evaluate":
        run_dir = RunDir(results_root, node.params["suite"], node.params["cell"])
        if run_dir.is_finished() and run_dir.load_result().get("config_hash") == node.key:
            return CACHED
    elif ArtifactCache(results_root / ".cache").has(node.artifact, node.key):
        return CACHED
    kind, name = node.lock_name
    return RUNNING_ELSEWHERE if held_elsewhere(results_root, kind, name) else TO_RUN


def plan_status(plan: Plan, results_root: str | Path) -> dict[str, str]:
    return {node_id: node_status(plan.suite, node, results_root) for node_id, node in plan.nodes.items()}
