"""One stage job: what an executor runs, in this process or in a worker, for one node of the plan.

A job takes the node's lock, looks again whether another run finished the node meanwhile, and
only then builds it, writing nothing but its artifact (atomically, under the cache) and its
owner cell's folder (events, config, preview; for an evaluation, ``result.json``). It never
writes the SQLite index: the parent process does, from the :class:`JobOutcome` it gets back.
An exception in the stage is caught, recorded as the stage's ``error`` event and returned as a
failed outcome (no retry: it would fail again); only a job that dies (SIGKILL, a lost node, out
of memory) is retried by the scheduler. Everything here pickles, so any executor can ship it.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kdss_bench.config import Suite
from kdss_bench.errors import DamagedArtifactError, DiskFullError, KdssError, disk_full
from kdss_bench.runner.plan import CACHED, StageNode, node_status
from kdss_bench.store.artifact_cache import ArtifactCache, content_key
from kdss_bench.store.event import Event
from kdss_bench.store.key_lock import key_lock
from kdss_bench.store.run_dir import RunDir

Emit = Callable[..., None]
EmitFactory = Callable[[str], Emit]
"""``emit_for(stage)`` -> ``emit(kind, step=None, total=None, **values)`` into the owner cell's events."""
Listener = Callable[[Event], None]
BUILT, FAILED = "built", "failed"


@dataclass(frozen=True)
class UpstreamStage:
    """A stage an evaluation builds on, with what it cost and which cell's run built it."""

    kind: str
    key: str
    built_by: str | None
    """The owner cell when this run built it; None when it was found in the cache."""
    wall_time_s: float = 0.0
    peak_memory_mb: float = 0.0


@dataclass(frozen=True)
class StageJob:
    suite: Suite
    node: StageNode
    results_root: str
    device: str
    threads: int | None
    executor: str
    upstream: tuple[UpstreamStage, ...] = ()
    announce_cell: bool = False
    """Write the owner cell's ``cell start`` event (and its config) before building."""
    cell_step: tuple[int, int] = (0, 0)
    """(position, count) of the owner cell in the run, for its start and end events."""
    cell_config: dict[str, Any] | None = None
    run_id: str = ""
    """The run record (``_suite/runs/<run_id>.json``) this job belongs to."""
    where: dict[str, Any] = field(default_factory=dict)
    """Filled in by the worker: executor, worker, host, pid, visible GPUs."""

    @property
    def teacher_key(self) -> str | None:
        return self.upstream_key("teacher")

    def upstream_key(self, kind: str) -> str | None:
        """The key of the node of ``kind`` this one reads (a direct dependency or the evaluation's chain)."""
        for dep in self.node.deps:
            dep_kind, key = dep.split(":", 1)
            if dep_kind == kind:
                return key
        return next((u.key for u in self.upstream if u.kind == kind), None)


@dataclass
class StageRecord:
    """What building a stage cost, written as its artifact's ``stage.json`` (and into the index)."""

    kind: str
    key: str
    size_key: str
    device: str
    threads: int
    wall_time_s: float
    peak_memory_mb: float
    built_at: float
    where: dict[str, Any]
    result: dict[str, Any] | None = None
    """An evaluation's ``result.json`` record."""

    @classmethod
    def measured(cls, job: StageJob, wall_time_s: float, peak_memory_mb: float) -> StageRecord:
        import torch

        return cls(kind=job.node.kind, key=job.node.key, size_key=size_key(job.node.size), device=job.device,
                   threads=torch.get_num_threads(), wall_time_s=round(wall_time_s, 3),
                   peak_memory_mb=float(peak_memory_mb), built_at=time.time(), where=dict(job.where))

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("result")
        return data


@dataclass
class JobOutcome:
    node_id: str
    status: str
    """``built``, ``cached`` (another run built it while this job waited for the lock) or ``failed``."""
    record: StageRecord | None = None
    error: str | None = None
    traceback: str | None = None
    announced: bool = False
    where: dict[str, Any] = field(default_factory=dict)
    damaged: tuple[str, str] | None = None
    """(artifact, key) of an input that failed its checksums or could not be read: quarantined, to rebuild."""
    fatal: DiskFullError | None = None
    """Set when the run cannot go on: the disk is full."""


def size_key(size: dict[str, Any]) -> str:
    return content_key({"size": size})


def run_stage_job(job: StageJob, *, worker: str = "inline", listener: Listener | None = None) -> JobOutcome:
    """Runs ``job`` here; see the module docstring. KeyboardInterrupt (a cancel) goes on up; a full disk
    (wherever it is hit: the artifact, an event, the config) comes back as a fatal outcome."""
    try:
        return _run_stage_job(job, worker, listener)
    except Exception as exc:  # noqa: BLE001 - only a full disk is handled here; anything else goes on up
        full = disk_full(exc)
        if full is None:
            raise
        return JobOutcome(job.node.id, FAILED, error=str(full), announced=job.announce_cell, fatal=full)


def _run_stage_job(job: StageJob, worker: str, listener: Listener | None) -> JobOutcome:
    from kdss_bench.runner.environment import resolve_device
    from kdss_bench.runner.stages import STAGE_RUNNERS
    from kdss_bench.runner.threads import apply_threads
    from kdss_bench.runner.workspace import Workspace

    where = {"executor": job.executor, "worker": worker, "host": socket.gethostname(), "pid": os.getpid(),
             "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "run_id": job.run_id}
    job = dataclasses.replace(job, where=where)
    node = job.node
    apply_threads(job.threads)
    lock_kind, lock_name = node.lock_name
    with key_lock(job.results_root, lock_kind, lock_name):
        if node_status(job.suite, node, job.results_root) == CACHED:
            return JobOutcome(node.id, CACHED, where=where)
        ws = Workspace(job.suite, job.results_root, resolve_device(job.device))
        run_dir = RunDir(job.results_root, job.suite.name, node.owner)
        _remove_leftovers(ws.cache, node, run_dir)
        if job.cell_config is not None and (job.announce_cell or node.kind == "evaluate"):
            run_dir.write_config(job.cell_config)
        with run_dir.event_log() as log:
            def emit_for(stage: str) -> Emit:
                def emit(kind: str, step: int | None = None, total: int | None = None, **values: Any) -> None:
                    event = log.emit(run_dir.run_id, stage, kind, step=step, total=total, values=values)
                    if listener is not None:
                        listener(event)
                return emit

            if job.announce_cell:
                emit_for("cell")("start", step=job.cell_step[0], total=job.cell_step[1], run_id=job.run_id,
                                 **_cell_identity(node.owner))
            stage = STAGE_RUNNERS[node.kind]
            try:
                record = stage.run(ws, job, emit_for)
            except Exception as exc:  # noqa: BLE001 - a failing stage fails its cells, not the run
                if disk_full(exc) is not None:
                    raise  # nothing more can be written: run_stage_job reports it, the scheduler stops the run
                message = str(exc) if isinstance(exc, KdssError) else f"{type(exc).__name__}: {exc}"
                damaged = (exc.stage, exc.key) if isinstance(exc, DamagedArtifactError) else None
                trace = traceback.format_exc(limit=20)
                error = log.emit(run_dir.run_id, _stage_name(job), "error", values={"message": message,
                                                                                    "traceback": trace})
                if listener is not None:
                    try:
                        listener(error)
                    except Exception:  # noqa: BLE001 - the listener may be what failed; the event is written
                        pass
                return JobOutcome(node.id, FAILED, error=message, traceback=trace, announced=job.announce_cell,
                                  where=where, damaged=damaged)
    return JobOutcome(node.id, BUILT, record=record, announced=job.announce_cell, where=where)


def _stage_name(job: StageJob) -> str:
    node = job.node
    if node.kind == "intermediate":
        return node.params["artifact"]
    return job.suite.eval if node.kind == "evaluate" else node.kind


def _cell_identity(cell_id: str) -> dict[str, Any]:
    """method / target / seed of a cell (from its id: a shared node's params name no cell)."""
    from kdss_bench.cell import Cell

    cell = Cell.parse(cell_id)
    return {} if cell is None else {"method": cell.method, "target": cell.target, "seed": cell.seed}


def _remove_leftovers(cache: ArtifactCache, node: StageNode, run_dir: RunDir) -> None:
    """Temporary files of a builder that was killed (with the lock held, none can be live)."""
    if node.artifact:
        cache.remove_leftovers(node.artifact, node.key)
    if node.kind == "evaluate" and run_dir.path.is_dir():
        for leftover in run_dir.path.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)

