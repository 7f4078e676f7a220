"""kdss_bench.runner.stages.intermediate_stage: one of a method's cached pieces (an MTT expert) built under
the key the plan gave it; a piece the method no longer lists is an error, not a stray artifact."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.config import load_suite
from kdss_bench.errors import KdssError
from kdss_bench.methods.mtt_experts import ExpertTrajectory
from kdss_bench.runner.plan import build_plan
from kdss_bench.runner.stages import intermediate_stage
from tests.conftest import TINY_SUITE
from tests.runner.conftest import Emits, job_for
from tests.runner.stages.conftest import workspace_of

MTT = ("  mtt: {num_experts: 2, train_epochs: 2, expert_epochs: 1, max_start_epoch: 1, iterations: 1, syn_steps: 1, "
       "expert_batch: 128, checkpoint_every: 0}")


@pytest.fixture
def mtt_plan(write_suite):
    suite = load_suite(write_suite(TINY_SUITE.replace("  no_pretrain: {}", MTT)))
    plan = build_plan(suite)
    return plan, [node for node in plan.nodes.values() if node.kind == "intermediate"]


def test_it_builds_the_expert_of_its_key_with_its_progress(mtt_plan, tmp_path):
    plan, experts = mtt_plan
    assert [node.label for node in experts] == ["mtt expert 1/2", "mtt expert 2/2"]
    node = experts[1]
    job = job_for(plan, node.id, tmp_path / "results", where={"worker": "w3"})
    ws, emits = workspace_of(job), Emits()
    record = intermediate_stage.run(ws, job, emits)

    assert ws.cache.has("mtt_experts", node.key) and not ws.cache.has("mtt_experts", experts[0].key)
    trajectory = ExpertTrajectory(ws.cache.folder("mtt_experts", node.key))
    assert trajectory.num_snapshots == 3, "the start and one snapshot per training epoch"
    assert ws.cache.read_stage_record("mtt_experts", node.key)["kind"] == "intermediate" == record.kind
    assert emits.kinds("mtt_experts") == ["start", "progress", "progress", "end"]
    assert emits.events[0][4] == {"cached": False, "key": node.key, "label": "mtt expert 2/2", "worker": "w3"}
    progress = [(step, total, values["expert"], values["experts"]) for _, kind, step, total, values in emits.events
                if kind == "progress"]
    assert progress == [(1, 2, 1, 2), (2, 2, 1, 2)]
    assert emits.events[-1][4] == {"cached": False, "wall_time_s": record.wall_time_s}


def test_a_piece_the_method_no_longer_lists_is_an_error_and_builds_nothing(mtt_plan, tmp_path):
    plan, experts = mtt_plan
    stale = dataclasses.replace(experts[0], key="0" * 20)
    job = dataclasses.replace(job_for(plan, experts[0].id, tmp_path / "results"), node=stale)
    ws, emits = workspace_of(job), Emits()
    with pytest.raises(KdssError, match=r"mtt expert 1/2: the method no longer lists this piece \(key 0{20}\); "
                                        "re-plan the run"):
        intermediate_stage.run(ws, job, emits)
    assert emits.events == [] and not (tmp_path / "results" / ".cache" / "mtt_experts").exists()
