"""Peak memory of one stage: resident set size on the CPU, allocator peak on CUDA.

Linux keeps a process's RSS high-water mark (VmHWM); writing "5" to /proc/self/clear_refs resets
it, which lets each stage report its own peak rather than the process's lifetime peak.
"""

from __future__ import annotations

from pathlib import Path


def reset_peak_memory(device_type: str = "cpu") -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    if device_type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device_type: str = "cpu") -> float:
    """Peak since the last reset: CUDA allocator peak on GPU runs, else VmHWM (or ru_maxrss)."""
    if device_type == "cuda":
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
