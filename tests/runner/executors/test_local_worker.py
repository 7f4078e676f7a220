"""kdss_bench.runner.executors.local_worker: a worker process runs the stage jobs it receives on its pipe and
sends their outcomes back; a bug outside a stage still reports; SIGINT is the parent's to decide."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stage_job import BUILT, FAILED, StageJob
from tests.conftest import TINY_SUITE

REPO = Path(__file__).resolve().parents[3]


def start_worker(label: str):
    parent, child = multiprocessing.Pipe()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "kdss_bench.runner.executors.local_worker",
                                str(child.fileno()), label], env=env, pass_fds=(child.fileno(),),
                               stdin=subprocess.DEVNULL)
    child.close()
    return process, parent


def stop(process) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture
def teacher_job(write_suite, tmp_path) -> StageJob:
    suite = load_suite(write_suite(TINY_SUITE))
    plan = build_plan(suite)
    node = next(n for n in plan.nodes.values() if n.kind == "teacher")
    return StageJob(suite=suite, node=node, results_root=str(tmp_path / "results"), device="cpu", threads=1,
                    executor="local")


def test_a_worker_runs_jobs_reports_bugs_ignores_sigint_and_stops_on_none(teacher_job, tmp_path):
    process, connection = start_worker("cpu7")
    try:
        connection.send(teacher_job)
        assert connection.poll(120), "no outcome within two minutes"
        outcome = connection.recv()
        assert outcome.status == BUILT and outcome.node_id == teacher_job.node.id
        assert outcome.where["worker"] == "cpu7" and outcome.where["pid"] == process.pid
        assert (tmp_path / "results" / ".cache" / "teacher" / teacher_job.node.key / "teacher.pt").is_file()

        bogus = dataclasses.replace(teacher_job.node, kind="bogus", key="k-bogus", artifact="")
        connection.send(dataclasses.replace(teacher_job, node=bogus))
        assert connection.poll(60)
        failed = connection.recv()
        assert failed.status == FAILED and failed.node_id == "bogus:k-bogus"
        assert failed.error == "KeyError: 'bogus'" and "Traceback" in failed.traceback

        os.kill(process.pid, signal.SIGINT)  # a Ctrl-C reaches the whole process group: the parent decides
        time.sleep(0.5)
        assert process.poll() is None
        connection.send(None)
        assert process.wait(timeout=30) == 0
    finally:
        stop(process)
        connection.close()


def test_a_worker_whose_parent_goes_away_exits_quietly():
    process, connection = start_worker("cpu0")
    try:
        connection.close()  # the parent's end: the worker reads EOF
        assert process.wait(timeout=120) == 0
    finally:
        stop(process)


def test_sigterm_on_an_idle_worker_ends_it_cleanly(teacher_job):
    process, connection = start_worker("cpu1")
    try:
        bogus = dataclasses.replace(teacher_job.node, kind="bogus", key="k-bogus", artifact="")
        connection.send(dataclasses.replace(teacher_job, node=bogus))
        assert connection.poll(120) and connection.recv().status == FAILED  # it is in its loop, waiting
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop(process)
        connection.close()
