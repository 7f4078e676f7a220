"""What every executor backend offers the scheduler, and the options that choose and shape one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kdss_bench.runner.stage_job import JobOutcome, StageJob

EXECUTORS = ("inline", "local", "ray", "slurm")


@dataclass(frozen=True)
class ExecutorOptions:
    executor: str = "inline"
    workers: int | None = None
    """local: worker processes (default one per visible GPU x workers_per_gpu, else CPU slots);
    ray / slurm: at most this many jobs in flight (default: as many as the cluster takes)."""
    workers_per_gpu: int = 1
    gpus: int | None = None
    """local: the GPUs to lay slots over (default: those visible to CUDA); set on a CPU box, it pins
    ``CUDA_VISIBLE_DEVICES`` per slot without using a GPU, which is how the tests check slot assignment."""
    threads: int | None = None
    """Intra-op threads per stage; None = the cores split between the local slots (Ray: its num_cpus)."""
    retries: int = 1
    ray_address: str | None = None
    """None = start a local Ray; ``auto`` or ``HOST:PORT`` = join an existing cluster."""
    slurm: dict[str, Any] = field(default_factory=dict)
    """partition, time_min, account, qos, constraint, mem_gb, cpus_per_task, gpus_per_node (suite + CLI)."""
    slurm_cluster: str = "slurm"
    """``slurm``, or submitit's ``local`` / ``debug`` executors (run the same jobs on this machine)."""
    results_root: str = "results"


@dataclass(frozen=True)
class JobDied:
    """The job ended without an outcome: its process was killed, its node lost, memory ran out."""

    reason: str


@dataclass(frozen=True)
class Completion:
    node_id: str
    result: JobOutcome | JobDied


class Backend(Protocol):
    name: str

    @property
    def concurrency(self) -> int:
        """How many stages may run at once (for the suite's ETA)."""

    def describe(self) -> str:
        """One line for the console: ``local: 2 CPU slots x 1 thread``."""

    def can_start(self, job: StageJob) -> bool:
        """Whether a slot is free for ``job`` now (a cluster backend queues: True up to its in-flight cap)."""

    def submit(self, job: StageJob) -> None: ...

    def wait(self, timeout: float) -> list[Completion]:
        """Jobs that ended since the last call, waiting up to ``timeout`` seconds for the first."""

    def in_flight(self) -> int: ...

    def cancel(self) -> None:
        """Stops every job in flight and waits a short while until they have stopped."""

    def close(self) -> None: ...
