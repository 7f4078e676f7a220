"""``--executor ray`` on a local Ray head (loopback, 2 CPUs, 2 logical GPUs): the inline table, GPU ids."""

from __future__ import annotations

import json

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.executors.backend import ExecutorOptions
from kdss_bench.runner.suite_runner import run_suite
from tests.conftest import TINY_SUITE

from .conftest import gate_table, run_gate

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_tasks_give_the_inline_table(tmp_path, inline_gate, ray_head):
    _, reference = inline_gate
    outcome = run_gate(tmp_path / "results", ExecutorOptions("ray", ray_address=ray_head, threads=1))
    assert not outcome.failed and len(outcome.finished) == 12
    assert gate_table(tmp_path / "results") == reference
    results = [json.loads(p.read_text()) for p in (tmp_path / "results" / "gate").glob("*/result.json")]
    assert {r["executor"] for r in results} == {"ray"} and all(r["worker"].startswith("ray-") for r in results)


def test_a_stage_asking_for_a_gpu_gets_a_logical_gpu_id(tmp_path, write_suite, ray_head):
    suite = write_suite(TINY_SUITE.replace("seeds: [0]", "seeds: [0]\nresources: {evaluate: {gpus: 1}}"))
    outcome = run_suite(load_suite(suite), results_root=tmp_path / "results", device="cpu",
                        executor=ExecutorOptions("ray", ray_address=ray_head, threads=1))
    assert not outcome.failed
    records = [json.loads(p.read_text()) for p in (tmp_path / "results" / "tiny").glob("*/result.json")]
    gpus = [record["stage_record"]["where"]["gpus"] for record in records]
    assert len(gpus) == 4 and set(gpus) <= {"0", "1"}, gpus
