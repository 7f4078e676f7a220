"""The resumable checkpoint file of a distillation run, so an interrupted run continues where it was.

It lives in the run's ``work_dir`` (kept by the artifact cache across interruptions), is written
atomically (a temporary file renamed into place) so a crash mid-write keeps the previous one, is
read with ``weights_only=True``, and is removed once the distilled set is complete. It is derived
data: one that cannot be read (torn by a crash of the disk, or holding objects other than tensors,
which are never unpickled) is moved aside with one warning line and the run starts afresh.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from kdss_bench.errors import raise_if_disk_full

log = logging.getLogger(__name__)


def _reason(error: Exception) -> str:
    """torch.load's messages run over paragraphs and advise unsafe loading; one line of what was wrong."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    if "WeightsUnpickler error" in text or "weights_only" in text:
        return "it holds objects other than tensors, which are never unpickled"
    text = " ".join(text.split())
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:160]


class RunCheckpoint:
    def __init__(self, work_dir: Path | None, filename: str):
        self.path = None if work_dir is None else Path(work_dir) / filename

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, plain Python values, state dicts); a no-op without a work_dir."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
        try:
            torch.save(state, temporary)
            os.replace(temporary, self.path)
        except Exception as error:  # a full disk: keep the previous checkpoint, leave no partial one
            temporary.unlink(missing_ok=True)
            raise_if_disk_full(error, self.path)
            raise

    def load(self) -> dict[str, Any] | None:
        """The saved state (on the CPU), or None when there is none or it is unreadable (then set aside)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - torn file, foreign pickle, wrong format
            self._set_aside(_reason(error))
            return None
        if not isinstance(state, dict):
            self._set_aside(f"holds a {type(state).__name__}, not a checkpoint")
            return None
        return state

    def set_aside(self, reason: str) -> None:
        """Moves an unusable checkpoint out of the way (one warning line); the run then starts afresh."""
        self._set_aside(reason)

    def _set_aside(self, reason: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
        os.replace(self.path, aside)
        log.warning("resumable checkpoint %s is unreadable (%s); moved it to %s and starting the distillation "
                    "afresh", self.path, reason, aside.name)

    def remove(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()


class _GlobalTorchRng:
    """torch's global generator as a checkpoint part (pool models draw their initial weights from it)."""

    def state_dict(self) -> torch.Tensor:
        return torch.get_rng_state()

    def load_state_dict(self, state: torch.Tensor) -> None:
        torch.set_rng_state(state)


GLOBAL_TORCH_RNG = _GlobalTorchRng()


class CheckpointedRun:
    """A distillation run whose checkpoint holds the attributes named once, in ``CHECKPOINTED``.

    Each part is saved by its kind and restored in place: a tensor by copying into it (onto its
    device), a ``torch.Generator`` or a numpy ``Generator`` by its state, an optimiser, scheduler,
    model pool or batch stream (anything with ``state_dict``) by ``load_state_dict``, a plain value
    (a list, a number, None) by assignment. ``step`` and ``losses`` are always saved, and the wall
    time so far as ``elapsed``. A checkpoint that lacks a part (written by another version) is set
    aside and the run starts afresh, like an unreadable one.
    """

    CHECKPOINTED: ClassVar[tuple[str, ...]] = ()
    checkpoint: RunCheckpoint
    step: int
    losses: list[float]
    elapsed_before: float

    def _parts(self) -> tuple[str, ...]:
        return ("step", "losses", *self.CHECKPOINTED)

    def save_checkpoint(self, elapsed: float) -> None:
        self.checkpoint.save({"elapsed": elapsed, **{name: _saved(getattr(self, name)) for name in self._parts()}})

    def load_checkpoint(self) -> bool:
        state = self.checkpoint.load()
        if state is None:
            return False
        missing = [name for name in ("elapsed", *self._parts()) if name not in state]
        if missing:
            self.checkpoint.set_aside(f"it lacks {', '.join(missing)} (written by another version)")
            return False
        for name in self._parts():
            _restore(self, name, state[name])
        self.elapsed_before = float(state["elapsed"])
        return True


def _saved(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, torch.Generator):
        return value.get_state()
    if isinstance(value, np.random.Generator):
        return value.bit_generator.state
    if hasattr(value, "state_dict"):
        return value.state_dict()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _restore(run: Any, name: str, saved: Any) -> None:
    current = getattr(run, name)
    if isinstance(current, torch.Tensor):
        with torch.no_grad():
            current.copy_(saved)
    elif isinstance(current, torch.Generator):
        current.set_state(saved)
    elif isinstance(current, np.random.Generator):
        current.bit_generator.state = saved
    elif hasattr(current, "load_state_dict"):
        current.load_state_dict(saved)
    elif isinstance(current, list):
        setattr(run, name, list(saved))
    else:
        setattr(run, name, saved)
