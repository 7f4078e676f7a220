"""What a method gets to distil with: data, teacher, budget, settings, device, seed, events, caches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kdss_bench.data.image_set import ImageSet
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.suite_facts import SuiteFacts

Emit = Callable[..., None]
Artifact = Callable[[str, dict, Callable[[Path], None]], Path]
"""``artifact(name, parts, build) -> folder``: a cached intermediate, built once by ``build(folder)``."""
Preview = Callable[..., None]
"""``preview(images, step=None, total=None)``: show the current synthetic images (N, C, R, R) to a watcher."""
PREVIEWS_PER_RUN = 20
"""A distillation shows its images at the start, every ``total // PREVIEWS_PER_RUN`` steps and at the end."""


def _no_emit(kind: str, **values: Any) -> None:
    return None


def local_artifact(root: Path) -> Artifact:
    """An ``artifact`` function caching under ``root``, the same cache the runner gives methods."""
    from kdss_bench.store.artifact_cache import ArtifactCache, artifact_function

    return artifact_function(ArtifactCache(root))


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
    preview: Preview | None = None
    """Where the current synthetic images go for a dashboard (the runner writes ``preview.npz``); None = nowhere."""

    def facts(self) -> SuiteFacts:
        """What the settings' check knows at run time: the loaded source's real class and image counts."""
        return SuiteFacts(budget=self.budget, source=self.source.name, num_classes=int(self.source.num_classes),
                          train_images=int(self.source.x_train.shape[0]), has_teacher=self.teacher is not None)

    def check_settings(self, method: str, settings: MethodSettings | None = None) -> None:
        """The settings' own check (the one ``kdss-bench validate`` runs), on the loaded source."""
        (settings or self.settings).check(self.facts(), ("methods", method))

    def show_images(self, images: torch.Tensor, step: int, total: int) -> None:
        """Sends ``images`` to :attr:`preview` (if any): at the start and the end of a run."""
        if self.preview is not None:
            self.preview(images, step=step, total=total)

    def show_images_if_due(self, images: torch.Tensor, step: int, total: int) -> None:
        """Sends ``images`` every ``max(1, total // PREVIEWS_PER_RUN)`` steps before the last one."""
        if self.preview is not None and step < total and step % max(1, total // PREVIEWS_PER_RUN) == 0:
            self.preview(images, step=step, total=total)
