"""kdss_bench.__main__: ``python -m kdss_bench`` is the CLI (same commands, same exit statuses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kdss_bench", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_python_dash_m_runs_the_cli(tmp_path):
    listed = run_module("ls", "models", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "resnet18" in listed.stdout and "convnet_128_256_512_bn" in listed.stdout
    missing = run_module("validate", str(tmp_path / "nothing.yaml"), cwd=tmp_path)
    assert missing.returncode == 2
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "nothing.yaml" in lines[0]
