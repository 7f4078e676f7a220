"""``kdss-bench plan``: the stage DAG as a rich tree or as JSON, with status and estimated cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from rich.tree import Tree

from kdss_bench.runner.plan import CACHED, MISSING, RUNNING_ELSEWHERE, TO_RUN, Plan, plan_status
from kdss_bench.runner.stage_estimates import Estimate, estimate_plan

STATUS_STYLE = {CACHED: "green", TO_RUN: "yellow", RUNNING_ELSEWHERE: "cyan", MISSING: "red"}


def _device(plan: Plan) -> str:
    from kdss_bench.runner.environment import resolve_device

    return resolve_device(plan.suite.device).type


def plan_json(plan: Plan, results_root: str | Path) -> dict[str, Any]:
    status = plan_status(plan, results_root)
    estimates = estimate_plan(plan, results_root, device=_device(plan))
    nodes = []
    for node_id, node in plan.nodes.items():
        estimate = estimates.get(node_id)
        nodes.append({
            "id": node_id, "kind": node.kind, "key": node.key, "label": node.label, "status": status[node_id],
            "deps": list(node.deps), "dependants": plan.dependants(node_id), "cells": list(node.cells),
            "owner": node.owner, "resources": node.resources.as_dict(),
            "estimate_s": None if estimate is None else round(estimate.seconds, 3),
            "estimate_samples": 0 if estimate is None else estimate.samples,
        })
    to_run = [n for n in nodes if n["status"] != CACHED]
    known = [n["estimate_s"] for n in to_run if n["estimate_s"] is not None]
    return {"suite": plan.suite.name, "results": str(results_root), "cells": [c.id for c in plan.cells],
            "nodes": nodes,
            "summary": {s: sum(n["status"] == s for n in nodes) for s in (CACHED, TO_RUN, RUNNING_ELSEWHERE, MISSING)},
            "estimated_s": round(sum(known), 3) if known else None,
            "unestimated": len(to_run) - len(known)}


def plan_tree(plan: Plan, results_root: str | Path) -> Tree:
    """Each node under its first dependency (a node with several, e.g. a distillation that needs the
    teacher and experts, lists the others as ``needs``), so every node appears exactly once."""
    data = plan_json(plan, results_root)
    by_id = {node["id"]: node for node in data["nodes"]}
    summary = ", ".join(f"{count} {status}" for status, count in data["summary"].items() if count)
    total = data["estimated_s"]
    cost = f", about {_duration(total)} to run" if total else ""
    if data["unestimated"]:
        cost += f" ({data['unestimated']} stage(s) without an estimate)"
    root = Tree(Text(f"suite {plan.suite.name}: {len(data['nodes'])} stages for {len(data['cells'])} cells "
                     f"({summary}){cost}", style="bold"))
    branches: dict[str, Tree] = {}
    for node_id, node in by_id.items():
        parent = branches.get(node["deps"][0]) if node["deps"] else root
        branches[node_id] = (parent or root).add(_label(node, by_id))
    return root


def _label(node: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> Text:
    text = Text()
    text.append(f"{node['kind']:<12}", style="bold")
    text.append(f" {node['label']}  ")
    text.append(node["key"][:12], style="dim")
    text.append("  ")
    text.append(node["status"], style=STATUS_STYLE.get(node["status"], ""))
    if node["status"] != CACHED and node["estimate_s"] is not None:
        text.append(f"  ~{_duration(node['estimate_s'])}", style="magenta")
    others = node["deps"][1:]
    if others:
        text.append(f"  needs {len(others)} more: " + ", ".join(by_id[d]["label"] for d in others[:3])
                    + (" ..." if len(others) > 3 else ""), style="dim")
    if node["kind"] != "evaluate":
        text.append(f"  -> {len(node['cells'])} cell(s)", style="dim")
    return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["Estimate", "plan_json", "plan_tree"]
