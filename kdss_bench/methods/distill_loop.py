"""The loop every iterative distillation shares: resume, step, report, preview, checkpoint.

KRR-ST, DSA, DM, MTT, KIP and FRePo differ in what one step does and what their checkpoints
hold, not in how a run proceeds; that part lives here once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import torch

from kdss_bench.methods.context import DistillContext


class ResumableRun(Protocol):
    """A run with a step counter, the wall time of earlier sessions, and checkpoints."""

    step: int
    elapsed_before: float

    def load_checkpoint(self) -> bool: ...

    def save_checkpoint(self, elapsed: float) -> None: ...


def run_distillation_loop(ctx: DistillContext, run: ResumableRun, *, total: int, advance: Callable[[], float],
                          images: torch.Tensor, checkpoint_every: int,
                          progress: Callable[[], dict[str, Any]] | None = None,
                          prepare: Callable[[bool], None] | None = None) -> float:
    """Calls ``advance()`` (one step: it moves ``run.step`` on, returns the loss) until ``total``.

    First resumes from the run's checkpoint if there is one (a ``metric`` event with
    ``resumed_from``), then ``prepare(resumed)`` (work before the first step, such as a warm
    start). Emits ``progress`` with the loss and ``progress()``'s values about 100 times per run,
    shows ``images`` (updated in place by the run) at the start, ~20 times and at the end, and
    checkpoints every ``checkpoint_every`` steps (0: never). Returns the wall seconds of the run,
    earlier interrupted sessions included.
    """
    started = time.perf_counter()
    resumed = run.load_checkpoint()
    if resumed:
        ctx.emit("metric", step=run.step, total=total, resumed_from=run.step)
    if prepare is not None:
        prepare(resumed)
    ctx.show_images(images, run.step, total)
    report_every = max(1, min(50, total // 100 or 1))
    while run.step < total:
        loss = advance()
        if run.step % report_every == 0 or run.step == total:
            ctx.emit("progress", step=run.step, total=total, loss=loss, **(progress() if progress else {}))
        ctx.show_images_if_due(images, run.step, total)
        if checkpoint_every and run.step % checkpoint_every == 0 and run.step < total:
            run.save_checkpoint(run.elapsed_before + time.perf_counter() - started)
    ctx.show_images(images, run.step, total)
    return run.elapsed_before + time.perf_counter() - started
