"""``--executor local``: worker processes on this machine, one per slot (OpenCompass's local runner).

Slots are GPUs (``CUDA_VISIBLE_DEVICES`` pinned per worker, ``--workers-per-gpu K`` workers on
each) or, without a GPU, CPU slots that split the cores' threads. A stage asking for more of a
GPU than one slot holds (``gpus: 1`` with two workers per GPU) reserves that many slots of one
GPU. Workers persist across stages (a stage costs no interpreter start-up or dataset reload);
one that dies is reported to the scheduler, which retries the stage on a fresh worker.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from kdss_bench.runner.executors.backend import Completion, ExecutorOptions, JobDied
from kdss_bench.runner.stage_job import StageJob
from kdss_bench.runner.threads import available_cores, threads_per_slot

STOP_GRACE_S = 10.0


@dataclass
class _Slot:
    label: str
    gpu: int | None
    environment: dict[str, str]
    process: subprocess.Popen | None = None
    connection: Connection | None = None
    job: StageJob | None = None
    reserved_by: str | None = None
    """The slot whose job asked for more than one slot of this GPU."""
    reserving: list[int] = field(default_factory=list)


class LocalBackend:
    name = "local"

    def __init__(self, options: ExecutorOptions, *, cuda: bool) -> None:
        self.options = options
        self.cuda = cuda
        gpus = options.gpus if options.gpus is not None else (_visible_gpus() if cuda else 0)
        per_gpu = max(1, options.workers_per_gpu)
        if gpus:
            count = options.workers or gpus * per_gpu
            layout = [(i, i % gpus) for i in range(count)]
        else:
            count = options.workers or min(available_cores(), 4)
            layout = [(i, None) for i in range(count)]
        self.per_gpu = per_gpu if gpus else 1
        self.threads = threads_per_slot(count, options.threads)
        self.slots = [self._make_slot(index, gpu, gpus) for index, gpu in layout]
        for slot in self.slots:  # start them now: each imports torch while the parent plans
            self._ensure_worker(slot)

    def _make_slot(self, index: int, gpu: int | None, gpus: int) -> _Slot:
        environment = {"OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        label = f"cpu{index}"
        if gpu is not None:
            environment["CUDA_VISIBLE_DEVICES"] = _physical_gpu(gpu)
            label = f"gpu{gpu}-{index // gpus}"
        return _Slot(label=label, gpu=gpu, environment=environment)

    @property
    def concurrency(self) -> int:
        """How many stages may run at once (for the suite's ETA)."""
        return len(self.slots)

    def describe(self) -> str:
        kind = "GPU" if any(slot.gpu is not None for slot in self.slots) else "CPU"
        return f"local: {len(self.slots)} {kind} slot(s) x {self.threads} thread(s)"

    # -- capacity --------------------------------------------------------------------------
    def _needed(self, job: StageJob) -> int:
        share = job.node.resources.gpu_share(cuda=self.cuda, workers_per_gpu=self.per_gpu)
        if not any(slot.gpu is not None for slot in self.slots) or share <= 0:
            return 1  # a CPU slot, or a stage that needs no GPU: one slot
        return max(1, min(self.per_gpu, math.ceil(share * self.per_gpu - 1e-9)))

    def _free_slots(self, job: StageJob) -> list[int] | None:
        needed = self._needed(job)
        free = [i for i, slot in enumerate(self.slots) if slot.job is None and slot.reserved_by is None]
        if needed == 1:
            return free[:1] or None
        by_gpu: dict[int | None, list[int]] = {}
        for i in free:
            by_gpu.setdefault(self.slots[i].gpu, []).append(i)
        for indices in by_gpu.values():
            if len(indices) >= needed:
                return indices[:needed]
        return None

    def can_start(self, job: StageJob) -> bool:
        return self._free_slots(job) is not None

    def in_flight(self) -> int:
        return sum(slot.job is not None for slot in self.slots)

    # -- running ---------------------------------------------------------------------------
    def submit(self, job: StageJob) -> None:
        chosen = self._free_slots(job)
        if chosen is None:
            raise RuntimeError("local backend: no free slot (the scheduler checks can_start first)")
        slot = self.slots[chosen[0]]
        self._ensure_worker(slot)
        for other in chosen[1:]:
            self.slots[other].reserved_by = slot.label
        slot.reserving = chosen[1:]
        slot.job = job
        try:
            slot.connection.send(job)
        except (BrokenPipeError, OSError):
            pass  # the worker is gone: wait() reports the job as died

    def _ensure_worker(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.poll() is None:
            return
        parent, child = multiprocessing.Pipe()
        command = [sys.executable, "-m", "kdss_bench.runner.executors.local_worker", str(child.fileno()), slot.label]
        slot.process = subprocess.Popen(command, env={**os.environ, **slot.environment}, pass_fds=(child.fileno(),),
                                        stdin=subprocess.DEVNULL)
        child.close()
        slot.connection = parent

    def wait(self, timeout: float) -> list[Completion]:
        busy = [slot for slot in self.slots if slot.job is not None]
        if not busy:
            time.sleep(min(timeout, 0.05))
            return []
        by_connection = {slot.connection: slot for slot in busy}
        ready = wait(list(by_connection), timeout=timeout)
        completions: list[Completion] = []
        for connection in ready:
            slot = by_connection[connection]
            try:
                outcome = connection.recv()
            except (EOFError, OSError):  # the pipe closed: the worker is gone
                try:
                    code = slot.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    slot.process.kill()
                    code = slot.process.wait()
                outcome = JobDied(f"worker {slot.label} (pid {slot.process.pid}) died with exit code {code}")
                connection.close()
                slot.process = None
            completions.append(Completion(slot.job.node.id, outcome))
            self._release(slot)
        return completions

    def _release(self, slot: _Slot) -> None:
        slot.job = None
        for other in slot.reserving:
            self.slots[other].reserved_by = None
        slot.reserving = []

    def cancel(self) -> None:
        """SIGTERM to every busy worker (its stage unwinds and cleans up), SIGKILL after a grace period."""
        busy = [slot for slot in self.slots if slot.job is not None and slot.process is not None]
        for slot in busy:
            slot.process.terminate()
        _reap(busy, deadline=time.monotonic() + STOP_GRACE_S, least_wait=0.0)
        for slot in busy:
            self._release(slot)

    def close(self) -> None:
        """Tells every worker to exit, then waits for all of them together (each exits in parallel)."""
        live = [slot for slot in self.slots if slot.process is not None]
        for slot in live:
            if slot.process.poll() is None:
                try:
                    slot.connection.send(None)
                except (BrokenPipeError, OSError):
                    pass
        _reap(live, deadline=time.monotonic() + 10.0, least_wait=0.1)

    def worker_pids(self) -> dict[str, int]:
        """Slot label -> pid of its live worker (tests kill one to check a retry)."""
        return {slot.label: slot.process.pid for slot in self.slots
                if slot.process is not None and slot.process.poll() is None}


def _physical_gpu(index: int) -> str:
    """The id to pin for the ``index``-th GPU this process sees (it may itself run under CUDA_VISIBLE_DEVICES)."""
    import os

    visible = [part.strip() for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if part.strip()]
    return visible[index] if index < len(visible) else str(index)


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _reap(slots: list[_Slot], *, deadline: float, least_wait: float) -> None:
    """Waits for the slots' workers together until ``deadline`` (each at least ``least_wait``), SIGKILLs
    those still alive, and closes their pipes."""
    for slot in slots:
        try:
            slot.process.wait(timeout=max(least_wait, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            slot.process.kill()
            slot.process.wait(timeout=5)
        slot.connection.close()
        slot.process = None
