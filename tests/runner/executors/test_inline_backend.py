"""kdss_bench.runner.executors.inline_backend: one stage job at a time, in this process."""

from __future__ import annotations

import pytest

from kdss_bench.config import load_suite
from kdss_bench.runner.executors.backend import Completion, ExecutorOptions
from kdss_bench.runner.executors.inline_backend import InlineBackend
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stage_job import BUILT, StageJob
from tests.conftest import TINY_SUITE


@pytest.fixture
def jobs(write_suite, tmp_path) -> dict[str, StageJob]:
    suite = load_suite(write_suite(TINY_SUITE))
    plan = build_plan(suite)

    def job(node) -> StageJob:
        return StageJob(suite=suite, node=node, results_root=str(tmp_path / "results"), device="cpu", threads=None,
                        executor="inline", cell_config=plan.cell_config(node.owner))

    return {node.kind: job(node) for node in plan.nodes.values() if node.kind in ("teacher", "evaluate")}


def test_it_takes_one_job_at_a_time_and_runs_it_when_waited_on(jobs):
    told = []
    backend = InlineBackend(ExecutorOptions(threads=2), listener=told.append)
    assert backend.concurrency == 1 and backend.describe() == "inline: this process, 2 thread(s)"
    assert InlineBackend(ExecutorOptions()).describe() == "inline: this process, default threads"
    assert backend.wait(0.01) == [] and backend.in_flight() == 0
    job = jobs["teacher"]
    assert backend.can_start(job)
    backend.submit(job)
    assert backend.in_flight() == 1 and not backend.can_start(jobs["evaluate"])
    assert not told, "nothing runs until the scheduler waits"
    (completion,) = backend.wait(0.25)
    assert isinstance(completion, Completion) and completion.node_id == job.node.id
    assert completion.result.status == BUILT and completion.result.where["worker"] == "main"
    assert {e.stage for e in told} == {"teacher"} and told[0].kind == "start" and told[-1].kind == "end"
    assert backend.in_flight() == 0 and backend.can_start(jobs["evaluate"])


def test_a_job_that_raises_is_taken_off_the_queue(jobs):
    def interrupt(event):
        raise KeyboardInterrupt

    backend = InlineBackend(ExecutorOptions(), listener=interrupt)
    backend.submit(jobs["teacher"])
    with pytest.raises(KeyboardInterrupt):
        backend.wait(0.25)
    assert backend.in_flight() == 0


def test_cancel_and_close_drop_what_is_queued(jobs):
    backend = InlineBackend(ExecutorOptions())
    backend.submit(jobs["teacher"])
    backend.cancel()
    assert backend.in_flight() == 0 and backend.wait(0.01) == []
    backend.submit(jobs["evaluate"])
    backend.close()
    assert backend.in_flight() == 0
