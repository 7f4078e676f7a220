"""An endless stream of shuffled minibatches drawn from tensors already in memory.

The official code wraps ``DataLoader(shuffle=True)`` in an ``InfIterator`` that restarts the
loader when it runs out: every pass is a fresh permutation, and the last, smaller batch of a
pass is kept (``drop_last=False``). This stream does the same by slicing a permutation, so
the data never leave the device and no worker processes are needed. The permutation comes
from a seeded CPU generator, so the batch order is the same on every device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class ShuffledBatchStream:
    """Yields tuples of aligned minibatches, ``batch_size`` rows each except a pass's last one."""

    def __init__(self, tensors: tuple[Tensor, ...] | list[Tensor], batch_size: int, *, seed: int) -> None:
        tensors = tuple(tensors)
        if not tensors:
            raise ValueError("ShuffledBatchStream needs at least one tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"tensors disagree on length: {[t.shape[0] for t in tensors]}")
        if n == 0:
            raise ValueError("ShuffledBatchStream needs a non-empty data set")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.tensors = tensors
        self.batch_size = int(batch_size)
        self.num_samples = n
        self._generator = torch.Generator().manual_seed(int(seed))
        self._order: Tensor | None = None
        self._order_on: dict[torch.device, Tensor] = {}  # this pass's permutation, per device
        self._cursor = 0
        self.passes_started = 0

    @property
    def batches_per_pass(self) -> int:
        """Batches in one pass over the data, counting the final partial batch."""
        return math.ceil(self.num_samples / self.batch_size)

    def _next_slice(self) -> slice:
        if self._order is None or self._cursor >= self.num_samples:
            self._order = torch.randperm(self.num_samples, generator=self._generator)
            self._order_on = {}
            self._cursor = 0
            self.passes_started += 1
        start = self._cursor
        self._cursor = min(start + self.batch_size, self.num_samples)
        return slice(start, self._cursor)

    def _order_for(self, device: torch.device) -> Tensor:
        """The permutation copied to ``device`` once per pass, not once per batch."""
        assert self._order is not None
        if device not in self._order_on:
            self._order_on[device] = self._order.to(device)
        return self._order_on[device]

    def next_indices(self) -> Tensor:
        """Row indices of the next batch (CPU int64); starts a new permutation when a pass ends."""
        rows = self._next_slice()
        return self._order_for(torch.device("cpu"))[rows]

    def __iter__(self) -> ShuffledBatchStream:
        return self

    def __next__(self) -> tuple[Tensor, ...]:
        rows = self._next_slice()
        return tuple(t[self._order_for(t.device)[rows]] for t in self.tensors)

    def state_dict(self) -> dict:
        """Position in the stream, so a resumed run draws the same batches as an uninterrupted one."""
        return {"generator": self._generator.get_state(), "order": self._order, "cursor": self._cursor,
                "passes_started": self.passes_started}

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
        self._order = state["order"]
        self._order_on = {}
        self._cursor = int(state["cursor"])
        self.passes_started = int(state["passes_started"])
