"""Summary statistics over seeds, matching how the paper's numbers were computed.

The official evaluation scripts report ``np.mean`` and ``np.std`` over seeds; ``np.std``
defaults to the population standard deviation (ddof=0), so that is what is used here too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def mean_std(values: Iterable[float]) -> tuple[float, float, int]:
    """Returns ``(mean, population std, n)``; a single value has std 0. Raises on no values.

    A NaN among the values (a diverged run) makes mean and std NaN rather than being dropped.
    """
    numbers = [float(value) for value in values]
    n = len(numbers)
    if n == 0:
        raise ValueError("mean_std needs at least one value")
    mean = math.fsum(numbers) / n
    variance = math.fsum((number - mean) ** 2 for number in numbers) / n
    return mean, math.sqrt(variance), n


def finite_or_none(value: float, digits: int | None = None) -> float | None:
    """JSON has no NaN or infinity: a value that was never computed (or diverged) is written as null."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return round(value, digits) if digits is not None else value
