"""The import contracts in pyproject.toml hold, and fail on a forbidden import planted in a copy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = shutil.which("lint-imports")
pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is not installed (pip install -e '.[dev]')")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def copy(tmp_path) -> Path:
    shutil.copytree(REPO / "kdss_bench", tmp_path / "kdss_bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_every_contract(copy):
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, planted, contract", [
    ("store/event.py", "    from kdss_bench.runner import scheduler  # noqa\n", "below the runner"),
    ("tui/cell_format.py", "    import torch  # noqa\n", "dashboard never trains"),
    ("methods/context.py", "    from kdss_bench.runner.executors import local_backend  # noqa\n", "below the runner"),
])
def test_a_planted_forbidden_import_breaks_its_contract(copy, module, planted, contract):
    path = copy / "kdss_bench" / module
    path.write_text(path.read_text() + "\n\ndef _planted():\n" + planted)  # a lazy, function-level import
    result = lint(copy)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line or contract in line]
    assert any(contract in line for line in broken), result.stdout
