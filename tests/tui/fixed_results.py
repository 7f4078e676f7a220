"""A results folder with fixed contents and times, for tests and snapshots that must not vary.

Suite ``demo``: two finished krr_st cells and one no_pretrain cell, a running krr_st cell (with
distillation progress and a preview), a failed cell with a traceback, and a queued one (in the
plan only). Every event time is ``T0 + offset``; pass ``clock=lambda: NOW`` to the app.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdss_bench.store.event import Event
from kdss_bench.store.preview_file import write_preview
from kdss_bench.store.run_dir import RunDir
from kdss_bench.store.suite_folder import SuiteFolder

SUITE = "demo"
T0 = 1_780_000_000.0
NOW = T0 + 200.0
DONE = {"krr_st__lfw_faces__seed0": 61.25, "krr_st__lfw_faces__seed1": 63.75, "no_pretrain__lfw_faces__seed0": 58.0}
RUNNING = "krr_st__textures3__seed0"
FAILED = "no_pretrain__textures3__seed0"
QUEUED = "no_pretrain__lfw_faces__seed1"
PLAN = ["krr_st__lfw_faces__seed0", "krr_st__lfw_faces__seed1", RUNNING, "no_pretrain__lfw_faces__seed0", FAILED,
        QUEUED]
ERROR = "RuntimeError: out of memory while fine-tuning (tried to allocate 2.00 GiB)"
TRACEBACK = ('Traceback (most recent call last):\n  File "kdss_bench/runner/suite_runner.py", line 150, in run_suite\n'
             "    fields = pipeline.evaluate(cell, emit_for)\nRuntimeError: out of memory while fine-tuning "
             "(tried to allocate 2.00 GiB)\n")


def identity(cell: str) -> dict:
    method, target, seed = cell.split("__")
    return {"method": method, "target": target, "seed": int(seed[4:])}


def write_events(root: Path, cell: str, events: list[tuple]) -> RunDir:
    """(stage, kind, step, total, values, offset) tuples, appended by the real EventLog."""
    run = RunDir(root, SUITE, cell)
    run.write_config({"suite": SUITE, "cell": cell, **identity(cell), "budget": 12, "resolution": 16,
                      "model": "convnet_8_16_bn", "finetune": {"iterations": 40, "batch_size": 16}})
    with run.event_log() as log:
        for stage, kind, step, total, values, offset in events:
            log.append(Event(run.run_id, stage, kind, step, total, values, T0 + offset))
    return run


def distill_events(start: float, steps: int, total: int = 120) -> list[tuple]:
    events = [("distill", "start", None, total, {"cached": False}, start)]
    for index, step in enumerate(range(10, steps + 1, 10), start=1):
        events.append(("distill", "progress", step, total, {"loss": round(1.0 / (1 + 0.2 * index), 4),
                                                           "lr": 0.001}, start + index))
    return events


def write_demo_results(root: Path) -> Path:
    """Writes suite ``demo`` under ``root`` (a live run record for this process, its cells)."""
    root = Path(root)
    folder = SuiteFolder(root, SUITE)
    # this test process plays the runner
    record = folder.start_run([{"cell": cell, **identity(cell)} for cell in PLAN], suite_path=None,
                              executor="inline", workers=None)
    ours = {"run_id": record["run_id"]}  # cells started by this run (their event times are fixed, long before it)
    for position, (cell, accuracy) in enumerate(DONE.items()):
        start = 1 + 20 * position
        events = [("cell", "start", position + 1, len(PLAN), {**identity(cell), **ours}, start)]
        if cell.startswith("krr_st"):
            events += distill_events(start + 1, 40, total=40)
            events += [("distill", "end", None, None, {"cached": False}, start + 6)]
        events += [("finetune", "start", None, None, {}, start + 7),
                   ("finetune", "progress", 20, 40, {"loss": 1.2}, start + 8),
                   ("finetune", "progress", 40, 40, {"loss": 0.9}, start + 9),
                   ("finetune", "metric", 40, 40, {"accuracy": accuracy, "test_loss": 1.1}, start + 10),
                   ("cell", "end", position + 1, len(PLAN), {"accuracy": accuracy, "wall_time_s": 10.0}, start + 10)]
        run = write_events(root, cell, events)
        run.write_result({**identity(cell), "source": "digits", "budget": 12, "resolution": 16,
                          "model": "convnet_8_16_bn", "eval": "finetune", "recipe": "native", "accuracy": accuracy,
                          "test_loss": 1.1, "wall_time_s": 10.0 + position, "peak_memory_mb": 700.0 + 10 * position,
                          "finished_at": "2026-05-29T00:00:00Z"})
    write_events(root, RUNNING, [("cell", "start", 3, len(PLAN), {**identity(RUNNING), **ours}, 90.0),
                                 *distill_events(91.0, 60)])
    images = np.linspace(0.0, 1.0, 4 * 3 * 8 * 8, dtype=np.float32).reshape(4, 3, 8, 8)
    write_preview(root / SUITE / RUNNING / "preview.npz", images, step=60, total=120)
    write_events(root, FAILED, [("cell", "start", 5, len(PLAN), {**identity(FAILED), **ours}, 60.0),
                                ("finetune", "start", None, None, {}, 61.0),
                                ("finetune", "progress", 10, 40, {"loss": 2.5}, 62.0),
                                ("cell", "error", None, None, {"message": ERROR, "traceback": TRACEBACK}, 63.0)])
    return root
