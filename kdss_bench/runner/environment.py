"""Where a result came from: git commit, package versions, device name."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import kdss_bench


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the kdss-bench checkout ('+dirty' when it has changes), or 'unknown'."""
    root = Path(kdss_bench.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "torch": str(torch.__version__), "kdss_bench": kdss_bench.__version__}


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"cpu ({platform.processor() or platform.machine()}, {threads} thread{'' if threads == 1 else 's'})"


def resolve_device(requested: str):
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is a clear error."""
    import torch

    from kdss_bench.errors import KdssError

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise KdssError("--device cuda: no CUDA device is available here; use --device cpu")
    if requested not in ("cpu", "cuda"):
        raise KdssError(f"--device {requested}: choose cpu, cuda or auto")
    return torch.device(requested)
