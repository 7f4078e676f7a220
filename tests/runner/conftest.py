"""Runner test helpers: the tiny offline suite run once (its finished results), and stage jobs by hand."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from kdss_bench.config import Suite, load_suite
from kdss_bench.runner.plan import Plan, build_plan
from kdss_bench.runner.stage_job import StageJob, UpstreamStage
from kdss_bench.store.event_log import read_events
from kdss_bench.store.run_dir import RunDir
from tests.conftest import TINY_SUITE

TINY_CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
              "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


@dataclass
class Finished:
    suite: Suite
    plan: Plan
    results: Path


@pytest.fixture(scope="session")
def tiny_finished_runner(tmp_path_factory) -> Finished:
    """The tiny suite, run once with the real runner; do not change its folder (copy it: ``tiny_done``)."""
    from kdss_bench.runner.suite_runner import run_suite

    folder = tmp_path_factory.mktemp("tiny-runner")
    path = folder / "suite.yaml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    outcome = run_suite(suite, results_root=folder / "results", device="cpu")
    assert sorted(outcome.finished) == TINY_CELLS and not outcome.failed
    return Finished(suite, build_plan(suite), folder / "results")


@pytest.fixture
def tiny_done(tiny_finished_runner, tmp_path) -> Finished:
    """A private copy of the finished tiny suite's results."""
    copy = tmp_path / "results"
    shutil.copytree(tiny_finished_runner.results, copy)
    return Finished(tiny_finished_runner.suite, tiny_finished_runner.plan, copy)


@pytest.fixture
def tiny_plan(write_suite) -> tuple[Suite, Plan]:
    suite = load_suite(write_suite())
    return suite, build_plan(suite)


def node_of(plan: Plan, kind: str, **params) -> str:
    """The id of the first node of ``kind`` whose params include ``params``."""
    return next(node_id for node_id, node in plan.nodes.items()
                if node.kind == kind and all(node.params.get(k) == v for k, v in params.items()))


def job_for(plan: Plan, node_id: str, results: Path, *, announce: bool = False, executor: str = "inline",
            where: dict | None = None) -> StageJob:
    """The job the scheduler would submit for ``node_id``, every upstream stage taken as cached."""
    node = plan.nodes[node_id]
    chain = plan.chains[node.owner] if node.kind == "evaluate" else ()
    upstream = tuple(UpstreamStage(plan.nodes[dep].kind, plan.nodes[dep].key, None, 1.5, 100.0)
                     for dep in chain if dep != node_id)
    return StageJob(suite=plan.suite, node=node, results_root=str(results), device="cpu", threads=None,
                    executor=executor, upstream=upstream, announce_cell=announce, cell_step=(1, len(plan.cells)),
                    cell_config=plan.cell_config(node.owner), run_id="run-test", where=where or {})


class Emits:
    """An ``emit_for`` that records ``(stage, kind, step, total, values)``."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def __call__(self, stage: str):
        def emit(kind, step=None, total=None, **values):
            self.events.append((stage, kind, step, total, values))
        return emit

    def kinds(self, stage: str | None = None) -> list[str]:
        return [kind for s, kind, *_ in self.events if stage is None or s == stage]


def cell_events(results: Path, suite: str, cell: str) -> list:
    return read_events(RunDir(results, suite, cell).events_path)[0]
