"""A cell of a suite's grid and its id, the name of its results folder: the one codec of cell ids.

A cell is a method, a target and a seed, plus the budget, the evaluation model, the evaluation
protocol and the fraction of the target's training labels where the suite makes them axes
(``budgets:``, ``eval_models:``, ``protocols:``, ``label_fractions:``); ``None`` there means the
suite's one value, and the id leaves it out, so suites without those axes keep their ids. The id
joins the parts with ``__`` (no name may contain it), in that order:
``krr_st__b500__vgg11__proto_mkdt__lf0.05__gtsrb43__seed0``. The runner formats ids,
the store and the dashboard parse them; all go through :class:`Cell`. Kept free of every other
kdss_bench module, so any layer may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = "__"
_SEED = re.compile(r"seed(\d+)\Z")
_BUDGET = re.compile(r"b(\d+)\Z")
_PROTOCOL = re.compile(r"proto_([a-z0-9_]+)\Z")
_FRACTION = re.compile(r"lf(\d+(?:\.\d+)?)\Z")
PROTOCOL_PREFIX, FRACTION_PREFIX = "proto_", "lf"


@dataclass(frozen=True)
class Cell:
    method: str
    target: str
    seed: int
    budget: int | None = None
    """Images of the distilled set when the suite lists ``budgets:``; None: the suite's ``budget``."""
    eval_model: str | None = None
    """The model pre-trained and evaluated when the suite lists ``eval_models:``; None: the suite's ``model``."""
    protocol: str | None = None
    """The evaluation protocol when the suite lists ``protocols:``; None: ``krr_st`` (the paper's)."""
    label_fraction: float | None = None
    """The fraction of the target's training labels when the suite lists ``label_fractions:``; None: the
    suite's ``label_fraction``."""

    @property
    def id(self) -> str:
        parts = [self.method]
        if self.budget is not None:
            parts.append(f"b{self.budget}")
        if self.eval_model is not None:
            parts.append(self.eval_model)
        if self.protocol is not None:
            parts.append(PROTOCOL_PREFIX + self.protocol)
        if self.label_fraction is not None:
            parts.append(FRACTION_PREFIX + format_fraction(self.label_fraction))
        return SEPARATOR.join([*parts, self.target, f"seed{self.seed}"])

    @classmethod
    def parse(cls, cell_id: str) -> Cell | None:
        """The cell named by ``cell_id`` (``krr_st__gtsrb43__seed0``, ``krr_st__b500__vgg11__gtsrb43__seed0``),
        or None for another name."""
        parts = cell_id.split(SEPARATOR)
        if len(parts) < 3 or len(parts) > 7 or not all(parts):
            return None
        seed = _SEED.match(parts[-1])
        if seed is None:
            return None
        found: dict[str, object] = {}
        order = ("budget", "model", "protocol", "fraction")
        for part in parts[1:-2]:  # each axis at most once, in the order ``id`` writes them
            budget, protocol, fraction = _BUDGET.match(part), _PROTOCOL.match(part), _FRACTION.match(part)
            if budget is not None and not found:
                axis, value = "budget", int(budget[1])
            elif protocol is not None:
                axis, value = "protocol", protocol[1]
            elif fraction is not None:
                axis, value = "fraction", float(fraction[1])
            else:
                axis, value = "model", part
            if axis in found or any(order.index(seen) > order.index(axis) for seen in found):
                return None
            found[axis] = value
        return cls(parts[0], parts[-2], int(seed[1]), found.get("budget"), found.get("model"),  # type: ignore[arg-type]
                   found.get("protocol"), found.get("fraction"))  # type: ignore[arg-type]


def format_fraction(fraction: float) -> str:
    """``0.05`` -> ``0.05``, ``1.0`` -> ``1``: the shortest text that reads back as the same number."""
    return format(fraction, "g") if float(format(fraction, "g")) == fraction else repr(fraction)
