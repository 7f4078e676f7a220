"""Wall-clock timing of a callable the way the benchmarks report it: warm-up, then a median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Waits for queued GPU work so a timer measures it, not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], *, repeats: int, warmup: int, device: torch.device) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median (what is reported), min and max of a list of seconds."""
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
