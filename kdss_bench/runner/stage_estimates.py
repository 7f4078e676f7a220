"""How long a stage will take, from what stages of the same kind and size took before.

Every built stage records its wall time under a size key (what its run time depends on: the
method and its settings, the budget, the number of images, the recipe; never the seed) in the
results index. An estimate is the median of earlier records of the same kind, size and device,
preferring those with the same number of threads; no record means no estimate (None), never a
guess.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from kdss_bench.runner.plan import Plan
from kdss_bench.runner.stage_job import size_key


@dataclass(frozen=True)
class Estimate:
    seconds: float
    samples: int


def estimate_plan(plan: Plan, results_root: str | Path, *, device: str, threads: int | None = None
                  ) -> dict[str, Estimate | None]:
    """Node id -> its estimate (None where no stage of its kind and size has run on this device)."""
    from kdss_bench.store.result_index import INDEX_FILE, ResultIndex

    root = Path(results_root)
    if not (root / INDEX_FILE).is_file():
        return {node_id: None for node_id in plan.nodes}
    estimates: dict[str, Estimate | None] = {}
    with ResultIndex(root) as index:
        for node_id, node in plan.nodes.items():
            rows = [r for r in index.stage_costs(node.kind, size_key(node.size))
                    if r["device"] == device and isinstance(r["wall_time_s"], (int, float))]
            same_threads = [r for r in rows if threads is not None and r["threads"] == threads]
            chosen = same_threads or rows
            estimates[node_id] = (Estimate(float(statistics.median(r["wall_time_s"] for r in chosen)), len(chosen))
                                  if chosen else None)
    return estimates
