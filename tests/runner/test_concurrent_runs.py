"""Two ``kdss-bench run`` processes on one suite and results folder: every stage built once, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kdss_bench.store.event_log import read_events
from kdss_bench.store.result_index import ResultIndex
from kdss_bench.store.suite_folder import SuiteFolder
from tests.conftest import TINY_SUITE

REPO = Path(__file__).resolve().parents[2]
SUITE = TINY_SUITE.replace("seeds: [0]", "seeds: [0, 1]").replace("outer_steps: 4", "outer_steps: 40")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["inline", "local"])
def test_two_runs_build_each_stage_once_and_keep_one_result_per_cell(tmp_path, executor):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    results = tmp_path / "results"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "kdss_bench", "run", str(suite), "--results", str(results), "--device", "cpu",
               "--executor", executor, "--workers", "2", "--threads", "1"]
    runs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
    cells = sorted(p.name for p in (results / "tiny").iterdir() if not p.name.startswith("_"))
    assert len(cells) == 8
    builds: Counter = Counter()
    for cell in cells:
        events, _ = read_events(results / "tiny" / cell / "events.jsonl")
        builds.update(event.stage for event in events if event.kind == "start" and event.stage != "cell")
        result = json.loads((results / "tiny" / cell / "result.json").read_text())
        assert result["cell"] == cell
    assert builds == {"teacher": 1, "distill": 1, "pretrain": 2, "finetune": 8}, "each stage built by one run"
    with ResultIndex(results) as index:
        rows = index.rows(suite="tiny")
    assert sorted(row["cell"] for row in rows) == cells, "one index row per cell"
    records = SuiteFolder(results, "tiny").runs()
    assert len(records) == 2 and {r["state"] for r in records} == {"finished"}, "each run has its own record"
    finished = sorted(r["counts"]["finished"] for r in records)
    assert sum(finished) == 8 and sum(r["counts"]["skipped"] for r in records) == 8, finished
