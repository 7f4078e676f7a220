"""kdss_bench.runner.environment: where a result came from (commit, versions, device) and --device."""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path

import pytest
import torch

import kdss_bench
from kdss_bench.errors import KdssError
from kdss_bench.runner import environment
from kdss_bench.runner.environment import device_name, git_commit, resolve_device, versions


def test_git_commit_is_the_checkouts_head_marked_dirty_when_it_has_changes():
    root = Path(kdss_bench.__file__).resolve().parent.parent
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("kdss_bench is not imported from a git checkout here")
    commit = git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit)
    assert commit.split("+")[0] == head.stdout.strip()
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    assert commit.endswith("+dirty") == bool(dirty)


def test_without_git_the_commit_is_unknown(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    environment.git_commit.cache_clear()
    try:
        assert git_commit() == "unknown"
    finally:
        environment.git_commit.cache_clear()


def test_versions_and_the_cpu_device_name():
    assert versions() == {"python": platform.python_version(), "torch": str(torch.__version__),
                          "kdss_bench": kdss_bench.__version__}
    name = device_name(torch.device("cpu"))
    threads = torch.get_num_threads()
    assert name.startswith("cpu (") and name.endswith(f", {threads} thread{'' if threads == 1 else 's'})")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device_name(torch.device("cpu")).endswith(", 1 thread)")
    finally:
        torch.set_num_threads(before)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(KdssError, match="--device tpu: choose cpu, cuda or auto"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(KdssError, match="no CUDA device is available here; use --device cpu"):
            resolve_device("cuda")
