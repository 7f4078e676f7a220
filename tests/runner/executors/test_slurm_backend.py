"""``--executor slurm`` through submitit's local executor: the same jobs as on a cluster, the inline table."""

from __future__ import annotations

import json
import shutil

import pytest

from kdss_bench.errors import KdssError
from kdss_bench.runner.executors.backend import ExecutorOptions

from .conftest import gate_table, run_gate

pytest.importorskip("submitit")


@pytest.mark.slow
def test_submitit_local_jobs_give_the_inline_table(tmp_path, inline_gate):
    _, reference = inline_gate
    outcome = run_gate(tmp_path / "results", ExecutorOptions("slurm", slurm_cluster="local", workers=2, threads=1))
    assert not outcome.failed and len(outcome.finished) == 12
    assert gate_table(tmp_path / "results") == reference
    results = [json.loads(p.read_text()) for p in (tmp_path / "results" / "gate").glob("*/result.json")]
    assert {r["executor"] for r in results} == {"slurm"}
    assert len({r["worker"] for r in results}) == 12, "one job (one process) per evaluation"
    assert list((tmp_path / "results" / "_slurm").glob("*/*_log.out")), "submitit keeps the job logs"


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="this machine has SLURM")
def test_without_sbatch_the_slurm_executor_says_what_to_do(tmp_path):
    from kdss_bench.runner.executors.slurm_backend import SlurmBackend

    with pytest.raises(KdssError, match="no sbatch on this machine.*--slurm-cluster local"):
        SlurmBackend(ExecutorOptions("slurm", results_root=str(tmp_path)), cuda=False)
