"""kdss_bench.runner.stage_job: one stage job takes its lock, looks again, builds, and reports an outcome."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import socket

import pytest
import yaml

from kdss_bench.runner import workspace
from kdss_bench.runner.plan import CACHED
from kdss_bench.runner.stage_job import BUILT, FAILED, StageJob, StageRecord, UpstreamStage, run_stage_job, size_key
from kdss_bench.store.artifact_cache import ArtifactCache, content_key
from kdss_bench.store.key_lock import held_elsewhere

from .conftest import cell_events, job_for, node_of


@pytest.fixture(autouse=True)
def _no_loaded_teachers(monkeypatch):
    """Teachers are cached per process by key; these tests want each job to read its own results folder."""
    monkeypatch.setattr(workspace, "_TEACHERS", {})


def test_upstream_key_reads_direct_dependencies_then_the_evaluations_chain(tiny_plan, tmp_path):
    _, plan = tiny_plan
    distill = plan.nodes[node_of(plan, "distill")]
    job = job_for(plan, distill.id, tmp_path)
    teacher = plan.nodes[node_of(plan, "teacher")]
    assert job.teacher_key == job.upstream_key("teacher") == teacher.key and job.upstream_key("pretrain") is None
    evaluate = job_for(plan, node_of(plan, "evaluate", method="krr_st"), tmp_path)
    assert evaluate.upstream_key("distill") == distill.key, "not a dependency, but in its chain"
    assert evaluate.upstream_key("pretrain") == plan.nodes[node_of(plan, "pretrain")].key
    assert job_for(plan, node_of(plan, "evaluate", method="no_pretrain"), tmp_path).upstream_key("distill") is None


def test_size_key_and_the_stage_record(tiny_plan, tmp_path):
    _, plan = tiny_plan
    node = plan.nodes[node_of(plan, "distill")]
    assert size_key(node.size) == content_key({"size": node.size}) != size_key({**node.size, "budget": 99})
    job = dataclasses.replace(job_for(plan, node.id, tmp_path), where={"worker": "w0"})
    record = StageRecord.measured(job, 1.23456, 512)
    assert (record.kind, record.key, record.size_key, record.device) == ("distill", node.key, size_key(node.size),
                                                                         "cpu")
    assert record.wall_time_s == 1.235 and record.peak_memory_mb == 512.0 and record.where == {"worker": "w0"}
    record.result = {"accuracy": 1.0}
    assert "result" not in record.as_dict() and record.as_dict()["threads"] == record.threads


def test_jobs_and_their_parts_pickle(tiny_plan, tmp_path):
    _, plan = tiny_plan
    job = job_for(plan, node_of(plan, "evaluate", method="krr_st"), tmp_path)
    again = pickle.loads(pickle.dumps(job))
    assert isinstance(again, StageJob) and again.node == job.node and again.upstream == job.upstream
    assert again.upstream[0] == UpstreamStage(job.upstream[0].kind, job.upstream[0].key, None, 1.5, 100.0)


def test_a_job_builds_its_artifact_writes_its_events_and_says_where_it_ran(tiny_plan, tmp_path):
    _, plan = tiny_plan
    results = tmp_path / "results"
    teacher_id = node_of(plan, "teacher")
    told = []
    outcome = run_stage_job(job_for(plan, teacher_id, results, announce=True, executor="local"), worker="cpu0",
                            listener=told.append)
    node = plan.nodes[teacher_id]
    assert outcome.status == BUILT and outcome.node_id == teacher_id and outcome.announced
    assert outcome.where["executor"] == "local" and outcome.where["worker"] == "cpu0"
    assert outcome.where["pid"] == os.getpid() and outcome.where["host"] == socket.gethostname()
    assert outcome.where["run_id"] == "run-test"
    cache = ArtifactCache(results / ".cache")
    assert cache.has("teacher", node.key) and (cache.folder("teacher", node.key) / "teacher.pt").is_file()
    stored = cache.read_stage_record("teacher", node.key)
    assert stored["key"] == node.key and stored["wall_time_s"] == outcome.record.wall_time_s
    assert stored["where"]["worker"] == "cpu0"
    events = cell_events(results, "tiny", node.owner)
    assert [(e.stage, e.kind) for e in events][:2] == [("cell", "start"), ("teacher", "start")]
    assert events[0].values == {"run_id": "run-test", "method": "krr_st", "target": "lfw_faces", "seed": 0}
    assert (events[-1].stage, events[-1].kind) == ("teacher", "end")
    assert [e.kind for e in told] == [e.kind for e in events], "the listener hears every event as it is written"
    config = yaml.safe_load((results / "tiny" / node.owner / "config.yaml").read_text())
    assert config["config_hash"] == plan.config_hash(node.owner)
    assert not held_elsewhere(results, *node.lock_name), "the lock is released"

    again = run_stage_job(job_for(plan, teacher_id, results))
    assert again.status == CACHED and again.record is None
    assert len(cell_events(results, "tiny", node.owner)) == len(events), "a cached stage writes nothing"


def test_a_failing_stage_is_a_failed_outcome_with_its_error_event(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    pretrain = plan.nodes[node_of(plan, "pretrain")]
    shutil.rmtree(results / ".cache" / "pretrain" / pretrain.key)
    broken = dataclasses.replace(pretrain, params={k: v for k, v in pretrain.params.items() if k != "seed"})
    job = dataclasses.replace(job_for(plan, pretrain.id, results), node=broken)
    outcome = run_stage_job(job)
    assert outcome.status == FAILED and outcome.error == "KeyError: 'seed'" and outcome.damaged is None
    assert "Traceback" in outcome.traceback and outcome.fatal is None
    error = cell_events(results, "tiny", pretrain.owner)[-1]
    assert (error.stage, error.kind) == ("pretrain", "error") and error.values["message"] == "KeyError: 'seed'"
    assert not (results / ".cache" / "pretrain" / pretrain.key).exists(), "nothing half-built is left"


def test_a_user_error_is_reported_by_its_message_alone(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    evaluate = plan.nodes[node_of(plan, "evaluate", method="no_pretrain", target="lfw_faces")]
    (results / "tiny" / evaluate.owner / "result.json").unlink()
    wrong = dataclasses.replace(evaluate, params={**evaluate.params, "target": "no_such_set"})
    outcome = run_stage_job(dataclasses.replace(job_for(plan, evaluate.id, results), node=wrong))
    assert outcome.status == FAILED and "no_such_set" in outcome.error and not outcome.error.startswith("ConfigError")
    error = cell_events(results, "tiny", evaluate.owner)[-1]
    assert (error.stage, error.kind) == ("finetune", "error"), "an evaluation's error carries the suite's eval"


def test_a_damaged_input_is_named_so_the_scheduler_can_rebuild_it(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    teacher, distill = plan.nodes[node_of(plan, "teacher")], plan.nodes[node_of(plan, "distill")]
    shutil.rmtree(results / ".cache" / "distill" / distill.key)
    with open(results / ".cache" / "teacher" / teacher.key / "teacher.pt", "r+b") as stream:
        stream.seek(100)
        stream.write(b"\x00" * 64)  # same size, other bytes: only the checksum can tell
    outcome = run_stage_job(job_for(plan, distill.id, results))
    assert outcome.status == FAILED and outcome.damaged == ("teacher", teacher.key)
    assert "does not match the checksum" in outcome.error
    assert not (results / ".cache" / "teacher" / teacher.key).exists(), "the damaged artifact is moved aside"
    assert any(p.name.startswith(f"{teacher.key}.broken-") for p in (results / ".cache" / "teacher").iterdir())


def test_leftovers_of_a_killed_builder_are_removed_before_building(tiny_plan, tmp_path):
    _, plan = tiny_plan
    results = tmp_path / "results"
    teacher = plan.nodes[node_of(plan, "teacher")]
    leftover = results / ".cache" / "teacher" / f"{teacher.key}.tmp-99999"
    leftover.mkdir(parents=True)
    (leftover / "teacher.pt").write_bytes(b"half")
    assert run_stage_job(job_for(plan, teacher.id, results)).status == BUILT
    assert not leftover.exists()
    assert json.loads((results / ".cache" / "teacher" / teacher.key / "stage.json").read_text())["kind"] == "teacher"
