"""Run checkpoints: atomic, loadable as weights only, absent without a work dir."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("content", [b"\x80\x02torn", "foreign"])
def test_an_unreadable_checkpoint_is_set_aside_and_the_run_starts_afresh(tmp_path, caplog, content):
    """A torn file, or a pickle of something other than tensors (never unpickled), is derived data:
    moved aside with one warning line that names it, and the distillation starts from step 0."""
    checkpoint = RunCheckpoint(tmp_path, "run.pt")
    if content == "foreign":
        torch.save({"model": torch.nn.Linear(2, 2)}, checkpoint.path)  # a pickled module: weights_only refuses it
    else:
        checkpoint.path.write_bytes(content)
    with caplog.at_level("WARNING", logger="kdss_bench"):
        assert checkpoint.load() is None
    (message,) = [record.getMessage() for record in caplog.records]
    assert str(checkpoint.path) in message and "starting the distillation afresh" in message
    assert "weights_only=False" not in message and "\n" not in message
    assert not checkpoint.path.exists() and len(list(tmp_path.glob("run.pt.broken-*"))) == 1
