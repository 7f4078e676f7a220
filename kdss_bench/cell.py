"""A cell of a suite's grid and its id, the name of its results folder: the one codec of cell ids.

The runner formats ids, the store and the dashboard parse them; all go through :class:`Cell`.
Kept free of every other kdss_bench module, so any layer may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = re.compile(r"(?P<method>.+?)__(?P<target>.+)__seed(?P<seed>\d+)\Z")


@dataclass(frozen=True)
class Cell:
    method: str
    target: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.method}__{self.target}__seed{self.seed}"

    @classmethod
    def parse(cls, cell_id: str) -> Cell | None:
        """The cell named by ``cell_id`` (``krr_st__gtsrb43__seed0``), or None for another name."""
        match = _ID.match(cell_id)
        if match is None:
            return None
        return cls(match["method"], match["target"], int(match["seed"]))
