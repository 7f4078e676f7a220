"""kdss_bench.runner.peak_memory: each stage reports its own peak (the RSS high-water mark, reset per stage)."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pytest

from kdss_bench.runner.peak_memory import peak_memory_mb, reset_peak_memory


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_the_cpu_peak_is_the_processes_high_water_mark_in_mb():
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs Linux /proc")
    assert abs(peak_memory_mb() - _vm_hwm_mb()) < 5
    assert peak_memory_mb() <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + 5


def test_a_large_allocation_raises_the_peak_and_a_reset_forgets_it():
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc/self/clear_refs")
    reset_peak_memory()
    before = peak_memory_mb()
    block = np.ones(25_000_000)  # 200 MB, touched
    raised = peak_memory_mb()
    del block
    assert raised >= before + 150
    reset_peak_memory()
    after = peak_memory_mb()
    if after >= raised - 100:
        pytest.skip("this kernel does not reset VmHWM through clear_refs")
    assert after < raised - 150, "the next stage does not inherit this one's peak"
