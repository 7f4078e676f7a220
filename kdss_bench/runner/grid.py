"""A suite expands into a grid of cells: method x target x seed (source, budget, model fixed per suite).

Cells are ordered method -> seed -> target, the order in which the stages they share (distilled
set, pre-trained backbone) become available.
"""

from __future__ import annotations

from kdss_bench.cell import Cell
from kdss_bench.config import Suite

__all__ = ["Cell", "expand_grid"]


def expand_grid(suite: Suite) -> list[Cell]:
    return [Cell(method, target, seed)
            for method in suite.methods for seed in suite.seeds for target in suite.targets]
