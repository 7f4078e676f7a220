"""What the scheduler and an executor cost per stage, measured on a suite of many tiny stages.

The suite fine-tunes a tiny ConvNet from scratch for one step per cell (``no_pretrain``, one
evaluation stage per seed), so almost all of a stage's wall time is the machinery around it:
shipping the job, taking the lock, writing events and ``result.json``, the parent's index write.
The figures: the run's wall time, the time until the first stage started (planning, starting
workers or a Ray cluster), the time after the last stage ended (stopping them), the stages' own
work (their ``eval_wall_time_s``), and the overhead per stage between the first start and the
last end, ``(span - work / slots) / stages``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from kdss_bench.config import load_suite
from kdss_bench.runner.executors.backend import ExecutorOptions
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.event_log import read_events

TINY_STAGES_SUITE = """\
name: tiny-stages
source: digits
budget: 10
resolution: 8
model: convnet_4_bn
teacher: {{train: barlow_twins, arch: convnet_4_bn, epochs: 1}}
methods: [no_pretrain]
targets: [lfw_faces]
seeds: {seeds}
finetune: {{iterations: 1, batch_size: 4}}
"""


def scheduler_overhead(executor: str, *, stages: int, workers: int, ray_address: str | None = None,
                       root: Path | None = None) -> dict:
    """Runs ``stages`` one-step evaluations with ``executor`` and returns the figures above."""
    with tempfile.TemporaryDirectory(prefix="kdss-bench-scheduler-") as scratch:
        folder = Path(root or scratch)
        suite_path = folder / "tiny-stages.yaml"
        suite_path.write_text(TINY_STAGES_SUITE.format(seeds=list(range(stages))), encoding="utf-8")
        results = folder / f"results-{executor}"
        options = ExecutorOptions(executor, workers=workers if executor != "inline" else None, threads=1,
                                  ray_address=ray_address, slurm_cluster="local")
        started = time.time()
        outcome = run_suite(load_suite(suite_path), results_root=results, device="cpu", executor=options)
        wall = time.time() - started
        if outcome.failed or len(outcome.finished) != stages:
            raise RuntimeError(f"bench scheduler: {len(outcome.failed)} stage(s) failed: "
                               f"{next(iter(outcome.failed.values()), '')}")
        work, starts, ends = 0.0, [], []
        for cell in (results / "tiny-stages").iterdir():
            if cell.name.startswith("_"):
                continue
            work += json.loads((cell / "result.json").read_text())["eval_wall_time_s"]
            events = read_events(cell / "events.jsonl")[0]
            starts += [e.time for e in events if e.kind == "start" and e.stage != "cell"]
            ends += [e.time for e in events if e.kind == "end" and e.stage == "cell"]
    slots = 1 if executor == "inline" else workers
    startup, shutdown = min(starts) - started, started + wall - max(ends)
    span = max(ends) - min(starts)
    overhead = max(0.0, (span - work / slots) / stages)
    return {"executor": executor, "stages": stages, "slots": slots, "wall_s": round(wall, 3),
            "startup_s": round(startup, 3), "shutdown_s": round(shutdown, 3), "work_s": round(work, 3),
            "overhead_per_stage_s": round(overhead, 4)}
