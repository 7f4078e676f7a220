"""Settings of the ``kmeans`` baseline (a real coreset chosen by per-class k-means)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.methods.settings import MethodSettings


@dataclass(frozen=True)
class KmeansCoresetSettings(MethodSettings):
    """``features``: cluster normalised pixels, or the frozen SSL teacher's features of them (needs a teacher)."""

    features: str = "pixels"
    iterations: int = 100  # at most this many Lloyd steps per class (stops earlier when assignments settle)

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"features": ("pixels", "teacher")}
