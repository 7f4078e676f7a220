"""The resumable checkpoint file of a distillation run, so an interrupted run continues where it was.

It lives in the run's ``work_dir`` (kept by the artifact cache across interruptions), is written
atomically (a temporary file renamed into place) so a crash mid-write keeps the previous one, is
read with ``weights_only=True``, and is removed once the distilled set is complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


class RunCheckpoint:
    def __init__(self, work_dir: Path | None, filename: str):
        self.path = None if work_dir is None else Path(work_dir) / filename

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, plain Python values, state dicts); a no-op without a work_dir."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
        torch.save(state, temporary)
        os.replace(temporary, self.path)

    def load(self) -> dict[str, Any] | None:
        """The saved state (on the CPU), or None when there is none."""
        if self.path is None or not self.path.is_file():
            return None
        return torch.load(self.path, map_location="cpu", weights_only=True)

    def remove(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()
