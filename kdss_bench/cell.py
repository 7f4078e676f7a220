"""A cell of a suite's grid and its id, the name of its results folder: the one codec of cell ids.

A cell is a method, a target and a seed, plus the budget and the evaluation model where the suite
makes them axes (``budgets:``, ``eval_models:``); ``None`` there means the suite's one value, and
the id leaves it out, so suites without those axes keep their ids. The id joins the parts with
``__`` (no name may contain it): ``krr_st__b500__vgg11__gtsrb43__seed0``. The runner formats ids,
the store and the dashboard parse them; all go through :class:`Cell`. Kept free of every other
kdss_bench module, so any layer may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = "__"
_SEED = re.compile(r"seed(\d+)\Z")
_BUDGET = re.compile(r"b(\d+)\Z")


@dataclass(frozen=True)
class Cell:
    method: str
    target: str
    seed: int
    budget: int | None = None
    """Images of the distilled set when the suite lists ``budgets:``; None: the suite's ``budget``."""
    eval_model: str | None = None
    """The model pre-trained and evaluated when the suite lists ``eval_models:``; None: the suite's ``model``."""

    @property
    def id(self) -> str:
        parts = [self.method]
        if self.budget is not None:
            parts.append(f"b{self.budget}")
        if self.eval_model is not None:
            parts.append(self.eval_model)
        return SEPARATOR.join([*parts, self.target, f"seed{self.seed}"])

    @classmethod
    def parse(cls, cell_id: str) -> Cell | None:
        """The cell named by ``cell_id`` (``krr_st__gtsrb43__seed0``, ``krr_st__b500__vgg11__gtsrb43__seed0``),
        or None for another name."""
        parts = cell_id.split(SEPARATOR)
        if len(parts) < 3 or len(parts) > 5 or not all(parts):
            return None
        seed = _SEED.match(parts[-1])
        if seed is None:
            return None
        budget, model = None, None
        for part in parts[1:-2]:
            match = _BUDGET.match(part)
            if match is not None and budget is None and model is None:
                budget = int(match[1])
            elif model is None:
                model = part
            else:
                return None
        return cls(parts[0], parts[-2], int(seed[1]), budget, model)
