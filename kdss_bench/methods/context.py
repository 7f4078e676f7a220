"""What a method gets to distil with: data, teacher, budget, settings, device, seed, events, caches."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kdss_bench.data.image_set import ImageSet
from kdss_bench.methods.settings import MethodSettings

Emit = Callable[..., None]
Artifact = Callable[[str, dict, Callable[[Path], None]], Path]
"""``artifact(name, parts, build) -> folder``: a cached intermediate, built once by ``build(folder)``."""


def _no_emit(kind: str, **values: Any) -> None:
    return None


def local_artifact(root: Path) -> Artifact:
    """An ``artifact`` function caching under ``root`` (the runner passes its own artifact cache)."""

    def artifact(name: str, parts: dict, build: Callable[[Path], None]) -> Path:
        key = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
        final = Path(root) / name / key
        if final.is_dir():
            return final
        temporary = final.with_name(f"{key}.tmp-{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        try:
            build(temporary)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        os.replace(temporary, final)
        return final

    return artifact


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
    artifact: Artifact | None = field(default=None)
    """Cache for reusable intermediates (e.g. MTT expert trajectories); None = build in a temporary folder."""
