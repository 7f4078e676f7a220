"""Wall-clock timing of a callable the way the benchmarks report it: warm-up, then a median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from kdss_bench.train.progress import synchronize


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


def time_round_robin(calls: dict[str, Callable[[], object]], *, rounds: int, warmup_rounds: int = 1,
                     device: torch.device | None = None) -> dict[str, list[float]]:
    """Seconds of each call per round, the calls taken in turn every round.

    For side-by-side comparisons: machine drift (another job, thermal state) then hits every
    implementation alike, so their ratio is steadier than that of timings taken one after another.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    device = device or torch.device("cpu")
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(warmup_rounds + rounds):
        for name, call in calls.items():
            synchronize(device)
            started = time.perf_counter()
            call()
            synchronize(device)
            if round_ >= warmup_rounds:
                times[name].append(time.perf_counter() - started)
    return times
