"""Run a suite: every cell of its grid, in order, each written to ``results/<suite>/<cell>/``.

A finished cell (``result.json`` present with the same config hash) is skipped, so re-running a
finished suite recomputes nothing and an interrupted one resumes. A cell that crashes records an
``error`` event and the suite goes on; the caller gets the list of failures. A cell stopped by
KeyboardInterrupt (SIGINT, or SIGTERM turned into it by the CLI) records ``error`` with message
``cancelled`` and the interrupt goes on up.

While it runs, ``results/<suite>/_suite/plan.json`` lists the cells it will run and
``runner.json`` names its process (removed at the end), so a dashboard can show queued cells and
tell a killed run from a working one.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.config import Suite
from kdss_bench.errors import ConfigError, KdssError
from kdss_bench.runner.artifact_cache import content_key, file_sha256
from kdss_bench.runner.grid import Cell, expand_grid
from kdss_bench.store.event import Event
from kdss_bench.store.result_index import ResultIndex
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder

Listener = Callable[[Event], None]
CANCELLED = "cancelled"
"""The ``message`` of the ``error`` event of a cell stopped by SIGINT / SIGTERM."""


@dataclass
class SuiteOutcome:
    cells: list[Cell]
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_time_s: float = 0.0


def cell_config(suite: Suite, cell: Cell) -> dict[str, Any]:
    """Everything that determines a cell's result (its hash decides whether it must re-run)."""
    return {
        "suite": suite.name, "cell": cell.id, "method": cell.method, "target": cell.target, "seed": cell.seed,
        "source": suite.source, "budget": suite.budget, "resolution": suite.resolution,
        "model": suite.model, "method_model": suite.method_model(cell.method),
        "method_settings": suite.methods[cell.method].identity(),
        "method_inputs": suite.methods[cell.method].input_fingerprint(),
        "teacher": suite.teacher.identity(), "distill_seed": suite.distill_seed,
        "datasets": {name: suite.datasets[name] for name in (suite.source, cell.target) if name in suite.datasets},
        "data_root": str(suite.data_root) if suite.data_root else None,
        **_pretrain_config(suite, cell.method), "eval": suite.eval,
        "finetune": suite.finetune_for(cell.target) if suite.eval == "finetune" else None,
        "linear_probe": suite.linear_probe if suite.eval == "linear_probe" else None,
        "recipe": suite.recipe, "protocol_version": PROTOCOL_VERSION,
    }


def _pretrain_config(suite: Suite, method: str) -> dict[str, Any]:
    from kdss_bench.methods.registry import method_info
    from kdss_bench.runner.pretrain_choice import recipe_for

    kind = method_info(method).target_kind
    if kind == "none":
        return {"pretrain_recipe": None, "pretrain": None}
    if kind == "auto":  # chosen once the set is read; the pretrain cache key holds the exact recipe
        return {"pretrain_recipe": "by target kind", "pretrain": None}
    name, settings = recipe_for(suite, kind)
    return {"pretrain_recipe": name, "pretrain": settings}


def _hash_config(config: dict[str, Any]) -> str:
    """Where files are is not what they are: moving the data root (or naming it by another path)
    keeps results valid, so the data root is left out and a teacher checkpoint counts by its bytes."""
    identity = {k: v for k, v in config.items() if k != "data_root"}
    teacher = dict(identity["teacher"])
    if teacher.get("checkpoint"):
        teacher["checkpoint"] = file_sha256(teacher["checkpoint"])
    identity["teacher"] = teacher
    return content_key(identity)


def select_cells(suite: Suite, cell_ids: Iterable[str] | None) -> list[Cell]:
    """The suite's cells in grid order, only those named in ``cell_ids`` when given (``--cells``)."""
    cells = expand_grid(suite)
    if cell_ids is None:
        return cells
    wanted = [name.strip() for name in cell_ids if name.strip()]
    known = [cell.id for cell in cells]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        what = f"cell {unknown[0]!r} is not" if unknown else "no cell id is"
        raise ConfigError(f"--cells: {what} in suite '{suite.name}' ({suite.path}); valid ids: {', '.join(known)}")
    chosen = set(wanted)
    return [cell for cell in cells if cell.id in chosen]


def run_suite(suite: Suite, *, results_root: Path, device: str = "auto",
              listener: Listener | None = None, only_cells: Iterable[str] | None = None) -> SuiteOutcome:
    """Runs the suite's cells (``only_cells``: just these ids, grid order kept) and returns what happened."""
    import torch

    from kdss_bench.runner.environment import device_name, git_commit, resolve_device, versions
    from kdss_bench.runner.pipeline import Pipeline

    cells = select_cells(suite, only_cells)
    resolved = resolve_device(device if device != "auto" else suite.device)
    results_root = Path(results_root)
    pipeline = Pipeline(suite, results_root=results_root, device=resolved)
    pipeline.load_all_data()  # bad data fails here, before any folder is written
    configs = {cell.id: cell_config(suite, cell) for cell in cells}
    hashes = {name: _hash_config(config) for name, config in configs.items()}
    outcome = SuiteOutcome(cells=cells)
    started = time.perf_counter()
    index = None
    suite_folder = SuiteFolder(results_root, suite.name)
    suite_path = str(Path(suite.path).resolve())
    started_at = time.time()
    suite_folder.write_plan([{"cell": cell.id, "method": cell.method, "target": cell.target, "seed": cell.seed,
                              "config_hash": hashes[cell.id]} for cell in cells],
                            suite_path=suite_path, started_at=started_at)
    try:
        suite_folder.write_runner(suite_path=suite_path, started_at=started_at)
        for position, cell in enumerate(cells, start=1):
            run_dir = RunDir(results_root, suite.name, cell.id)
            config = configs[cell.id]
            config_hash = hashes[cell.id]
            if run_dir.is_finished() and run_dir.load_result().get("config_hash") == config_hash:
                outcome.skipped.append(cell.id)
                if listener:
                    listener(Event.now(run_dir.run_id, "cell", "end", step=position, total=len(cells),
                                       values={"cached": True}))
                continue
            run_dir.write_config(config)
            with run_dir.event_log() as log:
                def emit_for(stage: str, _log=log, _run=run_dir.run_id):
                    def emit(kind: str, step: int | None = None, total: int | None = None, **values: Any) -> None:
                        event = _log.emit(_run, stage, kind, step=step, total=total, values=values)
                        if listener:
                            listener(event)
                    return emit

                cell_emit = emit_for("cell")
                cell_emit("start", step=position, total=len(cells), method=cell.method, target=cell.target,
                          seed=cell.seed)
                cell_started = time.perf_counter()
                try:  # a cancel anywhere in the cell (also while its result is written) is recorded
                    try:
                        fields = pipeline.evaluate(cell, emit_for)
                    except Exception as exc:  # noqa: BLE001 - a crashing cell must not stop the suite
                        message = str(exc) if isinstance(exc, KdssError) else f"{type(exc).__name__}: {exc}"
                        cell_emit("error", message=message, traceback=traceback.format_exc(limit=20))
                        outcome.failed[cell.id] = message
                        continue
                    result = {
                        "suite": suite.name, "cell": cell.id, "method": cell.method, "source": suite.source,
                        "target": cell.target, "seed": cell.seed, "budget": suite.budget,
                        "resolution": suite.resolution, "model": suite.model, "eval": suite.eval,
                        "recipe": suite.recipe, **fields,
                        "config_hash": config_hash, "protocol_version": PROTOCOL_VERSION,
                        "git_commit": git_commit(), "versions": versions(), "device": device_name(resolved),
                        "threads": torch.get_num_threads(),
                        "wall_time_s": round(time.perf_counter() - cell_started, 3),
                        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                    run_dir.write_result(result)
                    cell_emit("end", step=position, total=len(cells), accuracy=result["accuracy"],
                              wall_time_s=result["wall_time_s"])
                except KeyboardInterrupt:
                    cell_emit("error", message=CANCELLED)
                    raise
            if index is None:
                index = ResultIndex(results_root)
            index.upsert(result)
            outcome.finished.append(cell.id)
    finally:
        suite_folder.remove_runner()
        if index is not None:
            index.close()
        outcome.wall_time_s = time.perf_counter() - started
    return outcome


def describe_plan(suite: Suite) -> dict[str, Any]:
    """A summary of what ``run_suite`` would do (for ``validate`` and the dashboard)."""
    cells = expand_grid(suite)
    return {"suite": suite.name, "cells": len(cells), "methods": list(suite.methods),
            "targets": suite.targets, "seeds": suite.seeds,
            "settings": {m: dataclasses.asdict(s) for m, s in suite.methods.items()}}
