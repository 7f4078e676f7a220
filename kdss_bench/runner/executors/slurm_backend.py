"""``--executor slurm``: each stage a SLURM job submitted with submitit (HELM's SLURM manager, per stage).

Partition, time limit, account, QoS and memory come from ``--slurm-*`` options or the suite's
``slurm:`` mapping; GPUs and CPUs from the stage's resources. A distillation checkpoints, so on
pre-emption or time-out submitit requeues it and it resumes from its checkpoint; other stages
are short and are resubmitted by the scheduler's retry. Job logs go to
``<results>/_slurm/<run>/``. ``--slurm-cluster local`` runs the same jobs through submitit's
local executor (subprocesses on this machine), which is how the tests exercise this path.
``pip install "kdss-bench[slurm]"``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from kdss_bench.errors import KdssError
from kdss_bench.runner.executors.backend import Completion, ExecutorOptions, JobDied
from kdss_bench.runner.stage_job import StageJob

REQUEUED_KINDS = ("distill",)
"""Stages that checkpoint, so a requeued job resumes where it was pre-empted."""
DEFAULT_TIME_MIN = 24 * 60
SLURM_FOLDER = "_slurm"

try:
    import submitit
    from submitit.helpers import Checkpointable
except ImportError:  # the executor explains how to install it
    submitit = None
    Checkpointable = object


class StageTask(Checkpointable):
    """The callable a SLURM job runs; on pre-emption it asks to be requeued (distillation only)."""

    def __call__(self, job: StageJob):
        import os

        from kdss_bench.runner.stage_job import run_stage_job

        return run_stage_job(job, worker=f"slurm-{os.environ.get('SLURM_JOB_ID', os.getpid())}")

    def checkpoint(self, job: StageJob):
        if job.node.kind in REQUEUED_KINDS:
            return submitit.helpers.DelayedSubmission(self, job)
        return None


class SlurmBackend:
    name = "slurm"

    def __init__(self, options: ExecutorOptions, *, cuda: bool) -> None:
        if submitit is None:
            raise KdssError('--executor slurm: submitit is not installed; pip install "kdss-bench[slurm]"')
        if options.slurm_cluster == "slurm" and shutil.which("sbatch") is None:
            raise KdssError("--executor slurm: no sbatch on this machine; run from a SLURM login node, or "
                            "--slurm-cluster local to run the same jobs here")
        self.options = options
        self.cuda = cuda
        folder = Path(options.results_root) / SLURM_FOLDER / time.strftime("%Y%m%d-%H%M%S")
        self.folder = folder
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=options.slurm_cluster)
        self.jobs: dict = {}

    @property
    def concurrency(self) -> int:
        """How many stages may run at once (for the suite's ETA)."""
        return self.options.workers or 1

    def describe(self) -> str:
        slurm = self.options.slurm
        parts = [f"{self.options.slurm_cluster} jobs via submitit"]
        if slurm.get("partition"):
            parts.append(f"partition {slurm['partition']}")
        parts.append(f"logs in {self.folder}")
        return "slurm: " + ", ".join(parts)

    def can_start(self, job: StageJob) -> bool:
        return self.options.workers is None or len(self.jobs) < self.options.workers

    def in_flight(self) -> int:
        return len(self.jobs)

    def submit(self, job: StageJob) -> None:
        slurm = self.options.slurm
        resources = job.node.resources
        gpus = resources.gpu_share(cuda=self.cuda, workers_per_gpu=1)
        cpus = resources.cpus or slurm.get("cpus_per_task") or job.threads or 1
        parameters = {"timeout_min": int(slurm.get("time_min", DEFAULT_TIME_MIN)), "cpus_per_task": int(cpus),
                      "gpus_per_node": int(slurm.get("gpus_per_node", 1 if gpus > 0 else 0)), "nodes": 1,
                      "tasks_per_node": 1, "name": f"kdss-{job.node.kind}"}
        memory = resources.memory_gb or slurm.get("mem_gb")
        if memory:
            parameters["mem_gb"] = float(memory)
        if self.options.slurm_cluster == "slurm":
            for key in ("partition", "account", "qos", "constraint"):
                if slurm.get(key):
                    parameters[f"slurm_{key}"] = slurm[key]
        self.executor.update_parameters(**parameters)
        if job.threads is None:
            import dataclasses

            job = dataclasses.replace(job, threads=int(cpus))
        self.jobs[self.executor.submit(StageTask(), job)] = job.node.id

    def wait(self, timeout: float) -> list[Completion]:
        deadline = time.monotonic() + timeout
        while True:
            done = [job for job in self.jobs if job.done()]
            if done or time.monotonic() >= deadline or not self.jobs:
                break
            time.sleep(0.1)
        completions = []
        for job in done:
            node_id = self.jobs.pop(job)
            try:
                result = job.result()
            except Exception as exc:  # noqa: BLE001 - killed, pre-empted without requeue, node failure
                result = JobDied(f"SLURM job {job.job_id} died: {' '.join(str(exc).split())[:300]}")
            completions.append(Completion(node_id, result))
        return completions

    def cancel(self) -> None:
        """scancel (or, locally, SIGINT) every job in flight."""
        for job in list(self.jobs):
            try:
                job.cancel(check=False)
            except Exception:  # noqa: BLE001 - a job that already ended
                pass
        deadline = time.monotonic() + 10.0
        while any(not job.done() for job in self.jobs) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.jobs.clear()

    def close(self) -> None:
        self.jobs.clear()
