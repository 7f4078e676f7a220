"""Run checkpoints: atomic, loadable as weights only, absent without a work dir."""

from __future__ import annotations

import torch

from kdss_bench.methods.run_checkpoint import RunCheckpoint


def test_round_trip_and_remove(tmp_path):
    checkpoint = RunCheckpoint(tmp_path / "work", "run.pt")
    assert checkpoint.load() is None
    checkpoint.save({"step": 3, "x": torch.arange(4.0), "rng": {"state": 123}})
    state = checkpoint.load()
    assert state["step"] == 3 and torch.equal(state["x"], torch.arange(4.0))
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["run.pt"], "no temporary file left"
    checkpoint.remove()
    assert checkpoint.load() is None


def test_a_later_save_replaces_the_earlier_one(tmp_path):
    checkpoint = RunCheckpoint(tmp_path, "run.pt")
    checkpoint.save({"step": 1})
    checkpoint.save({"step": 2})
    assert checkpoint.load()["step"] == 2


def test_without_a_work_dir_nothing_is_written(tmp_path):
    checkpoint = RunCheckpoint(None, "run.pt")
    checkpoint.save({"step": 1})
    assert checkpoint.load() is None and checkpoint.path is None
