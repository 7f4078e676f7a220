"""Settings of the ``random`` baseline: nothing to tune (the seed alone picks the subset)."""

from __future__ import annotations

from dataclasses import dataclass

from kdss_bench.methods.settings import MethodSettings


@dataclass(frozen=True)
class RandomSubsetSettings(MethodSettings):
    """A class-balanced random real subset has no hyperparameters."""
