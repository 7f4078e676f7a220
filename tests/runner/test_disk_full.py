"""A full disk: one line naming the path and "no space left on device", exit 1, no traceback, no
half-written file; the same command on a roomy disk then finishes to the clean table.

The disk is a real tmpfs of a few hundred KiB (the test mounts one; it skips where it may not),
sized so the run fills it at different moments (measured: 24 KiB the teacher's artifact, 40 KiB
SQLite's write-ahead log, 96 KiB the index, 128 KiB the distilled set, 190 KiB the pre-trained
backbone, 224 KiB the index again).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY_SUITE

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(suite: Path, results: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "kdss_bench", "run", str(suite), "--results", str(results),
                           "--device", "cpu", "--threads", "1"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def table(results: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "kdss_bench", "table", "--results", str(results), "--format",
                          "json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    assert run(suite, folder / "results").returncode == 0
    return suite, table(folder / "results")


@pytest.fixture
def small_disk(tmp_path, request):
    mount = tmp_path / "disk"
    mount.mkdir()
    size = request.param
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip()[:80]})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("small_disk", ["24k", "40k", "96k", "128k", "190k", "224k"], indirect=True)
def test_a_full_disk_stops_the_run_with_one_line_and_the_resume_finishes_it(small_disk, clean, tmp_path):
    suite, clean_table = clean
    results = small_disk / "results"
    out = run(suite, results)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "no space left on device" in last and str(small_disk) in last, last
    assert "run the same command to resume" in last
    leftovers = [p for p in small_disk.rglob("*") if ".tmp" in p.name]
    assert leftovers == [], "no temporary file or half artifact is left behind"
    for result in small_disk.rglob("result.json"):
        json.loads(result.read_text())  # every result that exists is whole
    roomy = tmp_path / "roomy"
    shutil.copytree(small_disk, roomy)
    resumed = run(suite, roomy / "results")
    assert resumed.returncode == 0, resumed.stderr
    assert table(roomy / "results") == clean_table
