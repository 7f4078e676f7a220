"""One inline run of the CI gate suite (the reference table), and one local Ray head, per test session."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.config import load_suite
from kdss_bench.runner.executors.backend import ExecutorOptions
from kdss_bench.runner.suite_runner import run_suite

REPO = Path(__file__).resolve().parents[3]

# One token for the test's Ray head and this driver (Ray 2.59+ turns token authentication on for local
# clusters). Ray reads it when first imported, so it is set here, before any test module imports ray.
os.environ.setdefault("RAY_AUTH_MODE", "token")
if os.environ["RAY_AUTH_MODE"] == "token" and not os.environ.get("RAY_AUTH_TOKEN_PATH"):
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
GATE = REPO / "suites" / "ci" / "gate.yaml"


def gate_table(results: Path) -> list[dict]:
    """``kdss-bench table --format json`` of a results folder: what must match across executors."""
    out = CliRunner().invoke(app, ["table", "--results", str(results), "--suite", "gate", "--format", "json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def run_gate(results: Path, options: ExecutorOptions, suite_path: Path = GATE):
    """The gate suite on the CPU with one thread per stage (how the CI gate runs it)."""
    import torch

    threads = torch.get_num_threads()
    try:
        return run_suite(load_suite(suite_path), results_root=results, device="cpu",
                         executor=options)
    finally:
        torch.set_num_threads(threads)  # an inline run sets this process's threads


@pytest.fixture(scope="session")
def inline_gate(tmp_path_factory) -> tuple[Path, list[dict]]:
    results = tmp_path_factory.mktemp("gate-inline") / "results"
    outcome = run_gate(results, ExecutorOptions("inline", threads=1))
    assert not outcome.failed and len(outcome.finished) == 12
    return results, gate_table(results)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory):
    """``ray start --head`` on loopback with 2 CPUs and 2 logical GPUs; its address; stopped at the end."""
    pytest.importorskip("ray")
    ray_cli = shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    start = subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                            "--num-cpus", "2", "--num-gpus", "2", "--include-dashboard", "false",
                            "--temp-dir", str(temp), "--disable-usage-stats"],
                           capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)
