"""The shared distillation loop: resume, prepare, progress, previews and checkpoints on schedule."""

from __future__ import annotations

import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.settings import NoSettings


class CountingRun:
    """The smallest run: a step counter whose 'checkpoint' is kept in memory."""

    def __init__(self, saved: dict | None = None):
        self.step, self.elapsed_before, self.saved, self.saves = 0, 0.0, saved, []

    def load_checkpoint(self) -> bool:
        if self.saved is None:
            return False
        self.step, self.elapsed_before = self.saved["step"], self.saved["elapsed"]
        return True

    def save_checkpoint(self, elapsed: float) -> None:
        self.saves.append(self.step)

    def advance(self) -> float:
        self.step += 1
        return 1.0 / self.step


def _context(events, previews):
    return DistillContext(source=load_dataset("digits", resolution=8), teacher=None, budget=1, settings=NoSettings(),
                          model="convnet_8_bn", seed=0, device=torch.device("cpu"),
                          emit=lambda kind, **values: events.append((kind, values)),
                          preview=lambda images, step, total: previews.append(step))


def test_fresh_run_reports_previews_and_checkpoints_on_schedule():
    events, previews, prepared = [], [], []
    run = CountingRun()
    wall = run_distillation_loop(_context(events, previews), run, total=10, advance=run.advance,
                                 images=torch.zeros(1, 3, 8, 8), checkpoint_every=4, prepare=prepared.append,
                                 progress=lambda: {"lr": 0.5})
    assert run.step == 10 and prepared == [False] and wall >= 0
    assert run.saves == [4, 8], "no checkpoint at the last step: the set itself is the result"
    progress = [values for kind, values in events if kind == "progress"]
    assert [v["step"] for v in progress] == list(range(1, 11)) and progress[-1]["lr"] == 0.5
    assert previews[0] == 0 and previews[-1] == 10


def test_resumed_run_says_so_and_counts_earlier_time():
    events, previews, prepared = [], [], []
    run = CountingRun(saved={"step": 6, "elapsed": 100.0})
    wall = run_distillation_loop(_context(events, previews), run, total=8, advance=run.advance,
                                 images=torch.zeros(1, 3, 8, 8), checkpoint_every=0, prepare=prepared.append)
    assert events[0] == ("metric", {"step": 6, "total": 8, "resumed_from": 6})
    assert prepared == [True] and run.step == 8 and run.saves == [] and wall >= 100.0
