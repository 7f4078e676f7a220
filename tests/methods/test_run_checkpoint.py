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


class _Toy:
    """A run with one part of every kind a checkpoint restores."""

    def __init__(self, work_dir, seed: int = 0):
        import numpy as np

        from kdss_bench.methods.run_checkpoint import CheckpointedRun, RunCheckpoint

        class Run(CheckpointedRun):
            CHECKPOINTED = ("weights", "optimizer", "generator", "numpy_rng", "queue", "note")

        run = Run()
        run.checkpoint = RunCheckpoint(work_dir, "toy.pt")
        run.step, run.losses, run.elapsed_before = 0, [], 0.0
        run.weights = torch.zeros(3, requires_grad=True)
        run.optimizer = torch.optim.SGD([run.weights], lr=0.1, momentum=0.9)
        run.generator = torch.Generator().manual_seed(seed)
        run.numpy_rng = np.random.default_rng(seed)
        run.queue, run.note = [], None
        self.run = run

    def advance(self):
        run = self.run
        run.weights.grad = torch.randn(3, generator=run.generator)
        run.optimizer.step()
        run.queue.append(int(run.numpy_rng.integers(100)))
        run.step += 1
        run.losses.append(float(run.weights.detach().sum()))
        run.note = f"step {run.step}"


def test_a_checkpointed_run_restores_every_kind_of_part(tmp_path):
    straight = _Toy(tmp_path / "a")
    for _ in range(4):
        straight.advance()
    first = _Toy(tmp_path / "b")
    for _ in range(2):
        first.advance()
    first.run.save_checkpoint(elapsed=1.5)
    resumed = _Toy(tmp_path / "b", seed=99)  # different fresh state: everything must come from the file
    assert resumed.run.load_checkpoint() and resumed.run.step == 2 and resumed.run.elapsed_before == 1.5
    for _ in range(2):
        resumed.advance()
    assert torch.equal(resumed.run.weights, straight.run.weights)
    assert resumed.run.queue == straight.run.queue and resumed.run.losses == straight.run.losses
    assert resumed.run.note == "step 4"


def test_a_checkpoint_without_a_part_is_set_aside(tmp_path, caplog):
    toy = _Toy(tmp_path)
    toy.advance()
    toy.run.save_checkpoint(elapsed=0.5)
    state = torch.load(toy.run.checkpoint.path, weights_only=True)
    del state["queue"]
    torch.save(state, toy.run.checkpoint.path)
    fresh = _Toy(tmp_path)
    assert not fresh.run.load_checkpoint() and fresh.run.step == 0
    assert not toy.run.checkpoint.path.exists() and list(tmp_path.glob("toy.pt.broken-*"))
    assert "lacks queue" in caplog.text
