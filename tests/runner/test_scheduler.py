"""kdss_bench.runner.scheduler: submits what is ready, records what ends, fails what a failure needs,
retries jobs that died, rebuilds damaged inputs and records cancelled cells."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.config import load_suite
from kdss_bench.runner import workspace
from kdss_bench.runner.executors.backend import Completion, ExecutorOptions, JobDied
from kdss_bench.runner.executors.inline_backend import InlineBackend
from kdss_bench.runner.plan import build_plan, plan_status
from kdss_bench.runner.scheduler import CANCELLED, Scheduler
from kdss_bench.runner.stage_job import size_key
from kdss_bench.store.artifact_cache import ArtifactCache
from kdss_bench.store.result_index import ResultIndex
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.teacher.checkpoint import save_teacher_checkpoint
from tests.conftest import TINY_SUITE

from .conftest import TINY_CELLS, cell_events, node_of


@pytest.fixture(autouse=True)
def _no_loaded_teachers(monkeypatch):
    monkeypatch.setattr(workspace, "_TEACHERS", {})


class Listener:
    """Hears every event and every stage's state change, as the console does."""

    def __init__(self, interrupt_on=None) -> None:
        self.events, self.states, self.interrupt_on = [], [], interrupt_on

    def __call__(self, event) -> None:
        self.events.append(event)
        if self.interrupt_on is not None and self.interrupt_on(event):
            raise KeyboardInterrupt

    def on_stage(self, node, state, message) -> None:
        self.states.append((node.id, state, message))


class DiesOnce(InlineBackend):
    """The inline backend, except that the first job of ``node_id`` dies (as a killed worker would)."""

    def __init__(self, node_id: str, times: int = 1) -> None:
        super().__init__(ExecutorOptions())
        self.node_id, self.left = node_id, times

    def wait(self, timeout):
        if self.queue and self.queue[0].node.id == self.node_id and self.left:
            self.left -= 1
            self.queue.popleft()
            return [Completion(self.node_id, JobDied("worker cpu0 was killed (SIGKILL)"))]
        return super().wait(timeout)


def scheduler(plan, results, backend=None, listener=None, retries=1) -> Scheduler:
    return Scheduler(plan, backend or InlineBackend(ExecutorOptions(), listener=listener), results_root=results,
                     device="cpu", threads=None, retries=retries, status=plan_status(plan, results), run_id="r1",
                     listener=listener)


def test_a_fresh_plan_runs_every_stage_once_in_dependency_order(tiny_plan, tmp_path):
    _, plan = tiny_plan
    results = tmp_path / "results"
    listener = Listener()
    outcome = scheduler(plan, results, listener=listener).run()
    assert sorted(outcome.finished) == TINY_CELLS and not outcome.failed and not outcome.skipped
    assert sorted(outcome.built) == sorted(plan.nodes) and not outcome.retried
    order = [node_id for node_id, state, _ in listener.states if state == "submitted"]
    assert sorted(order) == sorted(plan.nodes)
    for node_id in plan.nodes:
        assert all(order.index(dep) < order.index(node_id) for dep in plan.nodes[node_id].deps)
    assert [s for n, s, _ in listener.states if n == order[0]] == ["submitted", "built"]
    with ResultIndex(results) as index:
        assert sorted(row["cell"] for row in index.rows()) == TINY_CELLS
        assert all(index.stage_costs(n.kind, size_key(n.size)) for n in plan.nodes.values()), \
            "every stage's cost is in the index"
    ends = [e for e in listener.events if e.stage == "cell" and e.kind == "end"]
    assert len(ends) == 4


def test_a_finished_plan_skips_every_cell_and_submits_nothing(tiny_done):
    listener = Listener()
    outcome = scheduler(tiny_done.plan, tiny_done.results, listener=listener).run()
    assert sorted(outcome.skipped) == TINY_CELLS and not outcome.finished and not outcome.built
    assert not [s for s in listener.states if s[1] == "submitted"]
    assert [(e.stage, e.kind, e.values) for e in listener.events] == [("cell", "end", {"cached": True})] * 4
    assert [e.step for e in listener.events] == [1, 2, 3, 4] and {e.total for e in listener.events} == {4}


def test_a_checkpoint_gone_since_planning_fails_the_cells_that_need_it_and_the_rest_goes_on(write_suite, tmp_path):
    teacher = TINY_SUITE[TINY_SUITE.index("teacher:"):TINY_SUITE.index("methods:")]
    torch.manual_seed(0)
    save_teacher_checkpoint(build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)), tmp_path / "gone.pt")
    text = TINY_SUITE.replace(teacher, f"teacher: {{checkpoint: {tmp_path / 'gone.pt'}, arch: convnet_8_16_bn}}\n")
    plan = build_plan(load_suite(write_suite(text)))
    (tmp_path / "gone.pt").unlink()  # e.g. a data folder unmounted between `plan` and the run
    results = tmp_path / "results"
    listener = Listener()
    outcome = scheduler(plan, results, listener=listener).run()
    assert sorted(outcome.finished) == [c for c in TINY_CELLS if c.startswith("no_pretrain")]
    assert sorted(outcome.failed) == [c for c in TINY_CELLS if c.startswith("krr_st")]
    owner, other = "krr_st__lfw_faces__seed0", "krr_st__textures3__seed0"
    assert outcome.failed[owner].endswith(f"checkpoint {tmp_path / 'gone.pt'} not found")
    assert outcome.failed[other].startswith("needs teacher convnet_8_16_bn (checkpoint gone.pt), which failed: ")
    skipped = [node_id for node_id, state, _ in listener.states if state == "skipped"]
    assert {plan.nodes[n].kind for n in skipped} == {"distill", "pretrain", "evaluate"} and len(skipped) == 4
    events = cell_events(results, "tiny", other)
    assert [(e.stage, e.kind) for e in events] == [("cell", "start"), ("cell", "error")], \
        "a cell that never started gets its start before its error"
    assert events[0].values["method"] == "krr_st" and events[1].values["message"] == outcome.failed[other]


def test_a_job_that_dies_is_retried_then_fails_its_cells(tiny_plan, tmp_path):
    _, plan = tiny_plan
    distill = node_of(plan, "distill")
    listener = Listener()
    outcome = scheduler(plan, tmp_path / "retried", DiesOnce(distill), listener=listener).run()
    assert outcome.retried == {distill: 1} and sorted(outcome.finished) == TINY_CELLS
    assert (distill, "retry", "worker cpu0 was killed (SIGKILL); retry 1 of 1") in listener.states

    outcome = scheduler(plan, tmp_path / "failed", DiesOnce(distill, times=2), retries=1).run()
    assert sorted(outcome.failed) == [c for c in TINY_CELLS if c.startswith("krr_st")]
    assert outcome.failed["krr_st__lfw_faces__seed0"] == ("distill krr_st (12 images): worker cpu0 was killed "
                                                          "(SIGKILL) (after 1 retry)")
    outcome = scheduler(plan, tmp_path / "no-retry", DiesOnce(distill), retries=0).run()
    assert outcome.failed["krr_st__lfw_faces__seed0"].endswith("(after 0 retries)")


def test_a_damaged_input_is_rebuilt_once_then_its_consumer_retried(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    pretrain = plan.nodes[node_of(plan, "pretrain")]
    cell = "krr_st__textures3__seed0"
    (results / "tiny" / cell / "result.json").unlink()
    backbone = results / ".cache" / "pretrain" / pretrain.key / "backbone.safetensors"
    data = bytearray(backbone.read_bytes())
    data[-8:] = b"\x00" * 8
    backbone.write_bytes(bytes(data))
    listener = Listener()
    outcome = scheduler(plan, results, listener=listener).run()
    assert outcome.finished == [cell] and not outcome.failed
    assert pretrain.id in outcome.built and any(s == (pretrain.id, "rebuild") for s in
                                                ((n, st) for n, st, _ in listener.states))


def test_an_interrupt_cancels_the_started_cells_and_goes_on_up(tiny_plan, tmp_path):
    _, plan = tiny_plan
    results = tmp_path / "results"
    listener = Listener(interrupt_on=lambda e: e.stage == "distill" and e.kind == "progress")
    with pytest.raises(KeyboardInterrupt):
        scheduler(plan, results, listener=listener).run()
    owner = "krr_st__lfw_faces__seed0"
    last = cell_events(results, "tiny", owner)[-1]
    assert (last.stage, last.kind, last.values["message"]) == ("cell", "error", CANCELLED)
    for cell in TINY_CELLS[1:]:
        assert not cell_events(results, "tiny", cell), f"{cell} never started: nothing to cancel"
    distill = plan.nodes[node_of(plan, "distill")]
    assert not ArtifactCache(results / ".cache").has("distill", distill.key), "an interrupted stage builds nothing"
