"""A suite expands into a grid of cells: method x target x seed (source, budget, model fixed per suite).

Cells are ordered method -> seed -> target so that the stages a cell shares with the next one
(distilled set, pre-trained backbone) are computed once and then read from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdss_bench.config import Suite


@dataclass(frozen=True)
class Cell:
    method: str
    target: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.method}__{self.target}__seed{self.seed}"


def expand_grid(suite: Suite) -> list[Cell]:
    return [Cell(method, target, seed)
            for method in suite.methods for seed in suite.seeds for target in suite.targets]
