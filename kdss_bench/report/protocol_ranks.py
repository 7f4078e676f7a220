"""Ranks of methods within each evaluation protocol, and how far two protocols agree (Kendall's tau).

The ranking of dataset-distillation methods depends on how they are evaluated (MKDT's protocol
puts KRR-ST below a random subset, the KRR-ST paper's above it). A table whose rows vary by
protocol therefore ranks the methods within each *block* (the rows sharing every setting but the
method: protocol, label fraction, eval model, ...): per column, by mean accuracy, 1 = best, ties
sharing the mean of their places; a row's rank is the mean over the columns it has. Agreement
between two blocks that differ only in the protocol is Kendall's tau-b over the methods both rank:
+1 the same order, -1 the reverse, 0 unrelated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Block = tuple[tuple[str, Any], ...]
"""The settings of a block of rows: every row axis value but the method."""


@dataclass(frozen=True)
class Agreement:
    first: Block
    second: Block
    tau: float
    """Kendall's tau-b of the two blocks' ranks; nan with fewer than two methods or no order at all."""
    methods: int


def places(values: Mapping[Any, float]) -> dict[Any, float]:
    """1 for the highest value; tied values share the mean of their places (1, 2.5, 2.5, 4)."""
    ordered = sorted(values, key=lambda key: -values[key])
    result: dict[Any, float] = {}
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and values[ordered[end + 1]] == values[ordered[index]]:
            end += 1
        for key in ordered[index:end + 1]:
            result[key] = (index + end) / 2 + 1
        index = end + 1
    return result


def block_ranks(means: Mapping[tuple[Block, str], Mapping[str, float]]) -> dict[tuple[Block, str], float]:
    """(block, method) -> mean place over the columns. ``means``: (block, method) -> {column: mean accuracy}."""
    columns = sorted({column for row in means.values() for column in row})
    per_row: dict[tuple[Block, str], list[float]] = {key: [] for key in means}
    for block in dict.fromkeys(block for block, _ in means):
        members = [key for key in means if key[0] == block]
        for column in columns:
            present = {key: means[key][column] for key in members
                       if column in means[key] and math.isfinite(means[key][column])}
            for key, place in places(present).items():
                per_row[key].append(place)
    return {key: sum(found) / len(found) for key, found in per_row.items() if found}


def kendall_tau_b(first: Sequence[float], second: Sequence[float]) -> float:
    """Kendall's tau-b of two paired sequences (ties corrected); nan when either has no order."""
    if len(first) != len(second):
        raise ValueError("kendall_tau_b needs paired sequences of one length")
    concordant = discordant = ties_first = ties_second = 0
    for i, j in itertools.combinations(range(len(first)), 2):
        a, b = first[i] - first[j], second[i] - second[j]
        if a == 0 and b == 0:
            continue
        if a == 0:
            ties_first += 1
        elif b == 0:
            ties_second += 1
        elif (a > 0) == (b > 0):
            concordant += 1
        else:
            discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_first) * (concordant + discordant + ties_second))
    return (concordant - discordant) / denominator if denominator else math.nan


def agreements(ranks: Mapping[tuple[Block, str], float], axis: str = "protocol") -> list[Agreement]:
    """Tau between every two blocks that differ only in ``axis``, over the methods both rank."""
    blocks = list(dict.fromkeys(block for block, _ in ranks))
    found = []
    for first, second in itertools.combinations(blocks, 2):
        differ = {key for (key, value), (other, value2) in zip(first, second, strict=True)
                  if key != other or value != value2}
        if differ != {axis}:
            continue
        methods = [m for (block, m) in ranks if block == first and (second, m) in ranks]
        tau = kendall_tau_b([ranks[(first, m)] for m in methods], [ranks[(second, m)] for m in methods])
        found.append(Agreement(first, second, tau, len(methods)))
    return found
