"""Pieces a method caches on its way to a distilled set (e.g. MTT's experts), listed before it runs.

A method that needs such pieces defines ``intermediates(request) -> list[Intermediate]``. The
runner's plan makes each one a stage of its own (so eight GPUs can train eight experts at once,
and ``kdss-bench plan`` shows them), builds it under the same key the method's
``ctx.artifact(name, parts, build)`` looks up, and only then runs the distillation, which finds
them all cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdss_bench.methods.settings import MethodSettings
from kdss_bench.store.artifact_cache import intermediate_key

if TYPE_CHECKING:
    import torch
    from torch import nn

    from kdss_bench.data.image_set import ImageSet

Emit = Callable[..., None]


@dataclass(frozen=True)
class Intermediate:
    artifact: str
    """The cache folder name (``.cache/<artifact>/<key>``), e.g. ``mtt_experts``."""
    parts: dict[str, Any]
    """Everything that determines it: its cache key is ``intermediate_key(artifact, parts)``."""
    label: str
    size: dict[str, Any]
    """What its run time depends on (for cost estimates from earlier runs of the same size)."""
    build: Callable[[Path, Emit], None] = field(compare=False)
    """Fills a folder with the piece, reporting progress through ``emit``."""
    needs_teacher: bool = False
    """Whether ``build`` calls ``request.teacher()`` (then the plan runs it after the teacher)."""
    after: tuple[str, ...] = ()
    """Keys of the method's other intermediates that ``build`` reads (the plan runs it after them)."""

    @property
    def key(self) -> str:
        return intermediate_key(self.artifact, self.parts)


@dataclass
class IntermediateRequest:
    """What a method may use to list (and later build) its intermediates."""

    source: ImageSet
    settings: MethodSettings
    model: str
    seed: int
    teacher_id: str = ""
    device: torch.device | None = None
    """None while planning: nothing is built then."""
    teacher: Callable[[], nn.Module] | None = None
    """Loads the frozen teacher (only called by a build)."""
    artifact: Callable[[str, dict, Callable[[Path], None]], Path] | None = None
    """The artifact cache (``ctx.artifact``), for a build that reads another intermediate."""


def method_intermediates(method: Any, request: IntermediateRequest) -> list[Intermediate]:
    """The method's intermediates, in build order (none for a method without the hook)."""
    hook = getattr(method, "intermediates", None)
    return list(hook(request)) if hook is not None else []
