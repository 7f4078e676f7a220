"""Backends that run stage jobs: ``inline`` (this process), ``local`` (worker processes on GPU or CPU
slots), ``ray`` (Ray tasks) and ``slurm`` (submitit jobs). They hold no logic of their own: the
scheduler (``runner/scheduler.py``) decides what runs when; a backend only starts a job, reports
how it ended (an outcome, or that the job died) and stops what is in flight on a cancel.
"""

from __future__ import annotations

from kdss_bench.runner.executors.backend import EXECUTORS, Backend, Completion, ExecutorOptions, JobDied


def make_backend(options: ExecutorOptions, *, cuda: bool, listener=None) -> Backend:
    """The backend ``options.executor`` names, started (workers spawned, cluster joined)."""
    if options.executor == "inline":
        from kdss_bench.runner.executors.inline_backend import InlineBackend

        return InlineBackend(options, listener=listener)
    if options.executor == "local":
        from kdss_bench.runner.executors.local_backend import LocalBackend

        return LocalBackend(options, cuda=cuda)
    if options.executor == "ray":
        from kdss_bench.runner.executors.ray_backend import RayBackend

        return RayBackend(options, cuda=cuda)
    if options.executor == "slurm":
        from kdss_bench.runner.executors.slurm_backend import SlurmBackend

        return SlurmBackend(options, cuda=cuda)
    raise ValueError(f"unknown executor {options.executor!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Backend", "Completion", "ExecutorOptions", "JobDied", "make_backend"]
