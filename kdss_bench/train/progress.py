"""Throttled progress events and a running training loss for the training loops.

Reading a loss with ``.item()`` makes the host wait for the device, so losses are summed on
the device and read only when an event is due (every ``every`` steps and at the last step).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Emit = Callable[..., None]
"""``emit(kind, step=None, total=None, **values)``, kind in start|progress|metric|end|error."""


class LossReporter:
    """Accumulates per-step losses and emits ``progress`` events with the window's mean."""

    def __init__(self, emit: Emit | None, total: int, every: int = 10) -> None:
        self.emit = emit
        self.total = int(total)
        self.every = max(1, int(every))
        self._sum: Tensor | None = None
        self._count = 0
        self.last_mean = math.nan
        """Mean loss of the most recent window (nan until a step has been recorded)."""

    def record(self, step: int, loss: Tensor, **extra: float) -> None:
        """Adds the loss of ``step`` (1-based); emits and resets the window when one is due."""
        value = loss.detach().float()
        self._sum = value if self._sum is None else self._sum + value
        self._count += 1
        if step % self.every == 0 or step == self.total:
            self.last_mean = float(self._sum.item()) / self._count
            self._sum, self._count = None, 0
            if self.emit is not None:
                self.emit("progress", step=step, total=self.total, loss=self.last_mean, **extra)

    def emit_train_loss(self) -> None:
        """The stage's final ``metric`` event: the last window's mean as ``train_loss``."""
        if self.emit is not None:
            self.emit("metric", step=self.total, total=self.total, train_loss=self.last_mean)


def synchronize(device: torch.device) -> None:
    """Waits for queued device work so wall-clock timings measure the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
