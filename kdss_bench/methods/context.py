"""What a method gets to distil with: data, teacher, budget, settings, device, seed, events, checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kdss_bench.data.image_set import ImageSet
from kdss_bench.methods.settings import MethodSettings

Emit = Callable[..., None]


def _no_emit(kind: str, **values: Any) -> None:
    return None


@dataclass
class DistillContext:
    source: ImageSet
    teacher: nn.Module | None
    budget: int
    settings: MethodSettings
    model: str  # inner / pool model name
    seed: int
    device: torch.device
    emit: Emit = _no_emit
    work_dir: Path | None = None  # resumable checkpoints live here; None = no checkpoints
    teacher_id: str = ""
