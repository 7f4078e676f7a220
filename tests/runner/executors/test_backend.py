"""kdss_bench.runner.executors.backend: the options that choose a backend, and what every backend offers."""

from __future__ import annotations

import inspect

import pytest

from kdss_bench.runner.executors import make_backend
from kdss_bench.runner.executors.backend import EXECUTORS, Backend, Completion, ExecutorOptions, JobDied
from kdss_bench.runner.executors.inline_backend import InlineBackend
from kdss_bench.runner.executors.local_backend import LocalBackend
from kdss_bench.runner.executors.ray_backend import RayBackend
from kdss_bench.runner.executors.slurm_backend import SlurmBackend


def test_the_default_options_run_inline_with_one_retry():
    options = ExecutorOptions()
    assert (options.executor, options.workers, options.workers_per_gpu, options.gpus, options.threads) == (
        "inline", None, 1, None, None)
    assert (options.retries, options.ray_address, options.slurm, options.slurm_cluster) == (1, None, {}, "slurm")
    assert options.results_root == "results"
    assert EXECUTORS == ("inline", "local", "ray", "slurm")
    assert ExecutorOptions().slurm is not ExecutorOptions().slurm, "each options object has its own mapping"


@pytest.mark.parametrize("backend", [InlineBackend, LocalBackend, RayBackend, SlurmBackend])
def test_every_backend_offers_the_protocol(backend):
    wanted = {name for name, _ in inspect.getmembers(Backend) if not name.startswith("_")}
    assert {"concurrency", "describe", "can_start", "submit", "wait", "in_flight", "cancel", "close"} <= wanted
    for name in wanted:
        assert hasattr(backend, name), f"{backend.__name__} lacks {name}"
    assert backend.name in EXECUTORS


def test_make_backend_builds_the_named_one_and_refuses_others():
    backend = make_backend(ExecutorOptions(), cuda=False)
    assert isinstance(backend, InlineBackend) and backend.concurrency == 1
    with pytest.raises(ValueError, match="unknown executor 'dask'; choose one of inline, local, ray, slurm"):
        make_backend(ExecutorOptions(executor="dask"), cuda=False)


def test_completions_carry_an_outcome_or_why_the_job_died():
    died = Completion("distill:abc", JobDied("worker cpu0 was killed (SIGKILL)"))
    assert died.node_id == "distill:abc" and died.result.reason.startswith("worker cpu0")
    assert JobDied("x") == JobDied("x")
