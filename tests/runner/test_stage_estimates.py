"""kdss_bench.runner.stage_estimates: a stage's cost is the median of earlier stages of its kind, size and
device (same thread count preferred); no record, no estimate."""

from __future__ import annotations

import statistics

import pytest

from kdss_bench.runner.stage_estimates import Estimate, estimate_plan
from kdss_bench.runner.stage_job import size_key
from kdss_bench.store.result_index import ResultIndex


def record(node, *, key: str, device: str = "cpu", threads: int = 2, wall: float = 10.0) -> dict:
    return {"kind": node.kind, "key": key, "size_key": size_key(node.size), "device": device, "threads": threads,
            "wall_time_s": wall, "peak_memory_mb": 100.0, "built_at": 1.0}


def test_without_an_index_nothing_is_estimated(tiny_plan, tmp_path):
    _, plan = tiny_plan
    assert estimate_plan(plan, tmp_path / "nowhere", device="cpu") == {node_id: None for node_id in plan.nodes}


def test_after_a_run_every_stage_is_estimated_from_its_own_record(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    estimates = estimate_plan(plan, results, device="cpu")
    assert set(estimates) == set(plan.nodes)
    with ResultIndex(results) as index:
        for node_id, node in plan.nodes.items():
            rows = index.stage_costs(node.kind, size_key(node.size))  # stages of one size share their records
            walls = sorted(row["wall_time_s"] for row in rows)
            assert estimates[node_id] == Estimate(pytest.approx(statistics.median(walls)), len(rows))
    evaluations = [estimates[i] for i, n in plan.nodes.items() if n.kind == "evaluate"]
    assert {e.samples for e in evaluations} == {2}, "krr_st and no_pretrain fine-tune the same model on each target"
    assert all(e is None for e in estimate_plan(plan, results, device="cuda").values()), "other device: none"


def test_the_median_of_matching_records_preferring_the_same_thread_count(tiny_plan, tmp_path):
    _, plan = tiny_plan
    distill_id = next(i for i, n in plan.nodes.items() if n.kind == "distill")
    node = plan.nodes[distill_id]
    with ResultIndex(tmp_path) as index:
        for i, (threads, wall, device) in enumerate([(2, 10.0, "cpu"), (2, 30.0, "cpu"), (2, 20.0, "cpu"),
                                                     (8, 1.0, "cpu"), (2, 500.0, "cuda")]):
            index.upsert_stage(record(node, key=f"k{i}", threads=threads, wall=wall, device=device))
    estimates = estimate_plan(plan, tmp_path, device="cpu", threads=2)
    assert estimates[distill_id] == Estimate(20.0, 3)
    assert estimate_plan(plan, tmp_path, device="cpu", threads=8)[distill_id] == Estimate(1.0, 1)
    assert estimate_plan(plan, tmp_path, device="cpu", threads=4)[distill_id] == Estimate(15.0, 4), \
        "no record with 4 threads: every cpu record counts"
    assert estimate_plan(plan, tmp_path, device="cpu")[distill_id] == Estimate(15.0, 4)
    assert estimate_plan(plan, tmp_path, device="cuda")[distill_id] == Estimate(500.0, 1)
    others = [i for i in plan.nodes if i != distill_id]
    assert all(estimates[i] is None for i in others), "other kinds and sizes have no record"


def test_records_without_a_wall_time_do_not_count(tiny_plan, tmp_path):
    _, plan = tiny_plan
    distill_id = next(i for i, n in plan.nodes.items() if n.kind == "distill")
    with ResultIndex(tmp_path) as index:
        index.upsert_stage({**record(plan.nodes[distill_id], key="k"), "wall_time_s": None})
    assert estimate_plan(plan, tmp_path, device="cpu")[distill_id] is None
