"""``--executor local``: worker processes give the inline table, pin GPUs per slot, survive a kill -9."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.executors.backend import ExecutorOptions
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.event_log import read_events
from tests.conftest import TINY_SUITE

from .conftest import gate_table, run_gate


def test_two_workers_give_the_inline_table(tmp_path, inline_gate):
    _, reference = inline_gate
    outcome = run_gate(tmp_path / "results", ExecutorOptions("local", workers=2, threads=1))
    assert not outcome.failed and len(outcome.finished) == 12
    assert gate_table(tmp_path / "results") == reference
    workers = {json.loads(p.read_text())["worker"] for p in (tmp_path / "results" / "gate").glob("*/result.json")}
    assert workers == {"cpu0", "cpu1"}, "both workers took stages"
    results = [json.loads(p.read_text()) for p in (tmp_path / "results" / "gate").glob("*/result.json")]
    assert {r["threads"] for r in results} == {1} and {r["executor"] for r in results} == {"local"}


def test_slots_pin_one_gpu_each_and_a_whole_gpu_stage_reserves_its_slots(tmp_path):
    """Two logical GPUs x 2 workers: CUDA_VISIBLE_DEVICES is 0 or 1 per slot; ``gpus: 1`` with two
    workers per GPU takes both slots of one GPU, so at most two such stages run at once."""
    from kdss_bench.runner.executors.local_backend import LocalBackend
    from kdss_bench.runner.plan import StageNode
    from kdss_bench.runner.resources import Resources
    from kdss_bench.runner.stage_job import StageJob

    def job(gpus):
        node = StageNode(kind="distill", key="k", label="x", deps=(), params={}, parts={}, size={},
                         resources=Resources(gpus=gpus))
        return StageJob(suite=None, node=node, results_root=str(tmp_path), device="cuda", threads=1,
                        executor="local")

    backend = LocalBackend(ExecutorOptions("local", workers_per_gpu=2, gpus=2, threads=1), cuda=True)
    try:
        assert [slot.environment["CUDA_VISIBLE_DEVICES"] for slot in backend.slots] == ["0", "1", "0", "1"]
        assert [slot.label for slot in backend.slots] == ["gpu0-0", "gpu1-0", "gpu0-1", "gpu1-1"]
        assert backend._needed(job(None)) == 1, "by default a stage takes 1/K of a GPU: one slot"
        assert backend._needed(job(1.0)) == 2 and backend._needed(job(0.5)) == 1
        whole = backend._free_slots(job(1.0))
        assert len(whole) == 2 and len({backend.slots[i].gpu for i in whole}) == 1, "two slots of one GPU"
        for index in whole:  # occupy that GPU: the next whole-GPU stage must go to the other one
            backend.slots[index].reserved_by = "test"
        other = backend._free_slots(job(1.0))
        assert {backend.slots[i].gpu for i in other} == {1 - backend.slots[whole[0]].gpu}
        for index in other:
            backend.slots[index].reserved_by = "test"
        assert not backend.can_start(job(1.0)) and not backend.can_start(job(None))
    finally:
        backend.close()


def test_the_pinned_gpu_reaches_the_stage(tmp_path, write_suite):
    suite = write_suite(TINY_SUITE.replace("seeds: [0]", "seeds: [0]\nresources: {evaluate: {gpus: 0.5}}"))
    results = tmp_path / "results"
    outcome = run_suite(load_suite(suite), results_root=results, device="cpu",
                        executor=ExecutorOptions("local", workers_per_gpu=2, gpus=2, threads=1))
    assert not outcome.failed
    records = [json.loads(path.read_text()) for path in (results / "tiny").glob("*/result.json")]
    seen = {record["stage_record"]["where"]["gpus"] for record in records}
    assert seen <= {"0", "1"} and seen


KILL_SUITE = """\
name: gate
source: digits
budget: 20
resolution: 16
model: convnet_8_16_bn
teacher: {train: barlow_twins, arch: convnet_8_16_bn, epochs: 2, batch_size: 128, projector_dims: [32, 32]}
methods:
  krr_st: {outer_steps: 300, lr: 0.01, real_batch: 64, pool_size: 2, online_iterations: 5, checkpoint_every: 20}
  no_pretrain: {}
targets: [lfw_faces]
seeds: [0]
pretrain: {epochs: 5, batch_size: 10}
finetune: {iterations: 20, batch_size: 32}
"""


@pytest.mark.slow
def test_kill_9_of_a_worker_mid_distillation_is_retried_to_the_same_table(tmp_path, write_suite):
    """SIGKILL of the worker distilling: the stage is retried on a fresh worker, resumes from its
    checkpoint, and the table equals an uninterrupted run's; no temporary file is left behind."""
    suite = write_suite(KILL_SUITE)
    clean = run_gate(tmp_path / "clean", ExecutorOptions("inline", threads=1), suite_path=suite)
    assert not clean.failed
    killed = threading.Event()
    owner = tmp_path / "killed" / "gate" / "krr_st__lfw_faces__seed0" / "events.jsonl"

    def kill_when_distilling() -> None:
        import time

        deadline = time.time() + 300
        while time.time() < deadline and not killed.is_set():
            events = read_events(owner)[0] if owner.exists() else []
            starts = [e for e in events if e.stage == "distill" and e.kind == "start"]
            steps = [e.step for e in events if e.stage == "distill" and e.kind == "progress" and e.step]
            if starts and steps and max(steps) >= 60:  # past the first checkpoints
                os.kill(starts[-1].values["pid"], signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_when_distilling, daemon=True)
    watcher.start()
    outcome = run_gate(tmp_path / "killed", ExecutorOptions("local", workers=2, threads=1, retries=1),
                       suite_path=suite)
    watcher.join(timeout=5)
    assert killed.is_set(), "the distillation finished before the kill"
    assert not outcome.failed and len(outcome.finished) == 2
    assert list(outcome.retried.values()) == [1] and next(iter(outcome.retried)).startswith("distill:")
    assert gate_table(tmp_path / "killed") == gate_table(tmp_path / "clean")
    events = read_events(owner)[0]
    resumed = [e for e in events if e.stage == "distill" and "resumed_from" in e.values]
    assert resumed and resumed[0].values["resumed_from"] >= 20, "the retry resumed from a checkpoint"
    leftovers = [p for p in (tmp_path / "killed").rglob("*") if ".tmp" in p.name or p.name.endswith(".work")]
    assert leftovers == []
