"""``--executor ray``: each stage a Ray task with ``num_gpus`` / ``num_cpus`` from its resources.

Joins an existing cluster (``--ray-address auto`` or ``HOST:PORT``) or starts a local one bound
to 127.0.0.1. Every node must have kdss-bench installed and see the results folder at the same
path (a shared file system): stage jobs write their artifacts and cell folders there, and the
parent reads them. Ray's own retries are off (``max_retries=0``): the scheduler retries a task
whose worker died, so every executor retries the same way. ``pip install "kdss-bench[ray]"``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from kdss_bench.errors import KdssError
from kdss_bench.runner.executors.backend import Completion, ExecutorOptions, JobDied
from kdss_bench.runner.stage_job import StageJob
from kdss_bench.runner.threads import available_cores

CANCEL_GRACE_S = 10.0


def _run_in_ray(job: StageJob):
    import ray

    from kdss_bench.runner.stage_job import run_stage_job

    context = ray.get_runtime_context()
    worker = f"ray-{context.get_node_id()[:8]}"
    gpus = ray.get_gpu_ids()
    if gpus:
        worker += "-gpu" + ",".join(str(g) for g in gpus)
    return run_stage_job(job, worker=worker)


class RayBackend:
    name = "ray"

    def __init__(self, options: ExecutorOptions, *, cuda: bool) -> None:
        try:
            import ray
        except ImportError:
            raise KdssError('--executor ray: Ray is not installed; pip install "kdss-bench[ray]"') from None
        self.ray = ray
        self.options = options
        self.cuda = cuda
        self.started_here = False
        if not ray.is_initialized():
            with _keep_signal_handlers():  # ray.init installs its own SIGTERM handler (exit 1): a cancel is ours
                self._init(ray, options, cuda)
        self.remote = ray.remote(max_retries=0)(_run_in_ray)
        self.refs: dict = {}

    def _init(self, ray, options: ExecutorOptions, cuda: bool) -> None:
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if options.ray_address:
            try:
                ray.init(address=options.ray_address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise KdssError(f"--ray-address {options.ray_address}: cannot join the Ray cluster "
                                f"({' '.join(str(exc).split())[:160]}); start it with `ray start --head` "
                                "or pass its address") from None
        else:
            ray.init(num_cpus=available_cores(), num_gpus=_visible_gpus() if cuda else 0,
                     _node_ip_address="127.0.0.1", **kwargs)
            self.started_here = True

    @property
    def concurrency(self) -> int:
        """How many stages may run at once (for the suite's ETA)."""
        return self.options.workers or max(1, int(self.ray.cluster_resources().get('CPU', 1)))

    def describe(self) -> str:
        resources = self.ray.cluster_resources()
        where = self.options.ray_address or "a local Ray"
        return (f"ray: {where}, {resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s) in the "
                f"cluster")

    def can_start(self, job: StageJob) -> bool:
        return self.options.workers is None or len(self.refs) < self.options.workers

    def in_flight(self) -> int:
        return len(self.refs)

    def submit(self, job: StageJob) -> None:
        resources = job.node.resources
        num_gpus = resources.gpu_share(cuda=self.cuda, workers_per_gpu=max(1, self.options.workers_per_gpu))
        num_cpus = resources.cpus or job.threads or 1
        options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "name": job.node.label[:80]}
        if resources.memory_gb:
            options["memory"] = int(resources.memory_gb * 2**30)
        if job.threads is None:
            job = _with_threads(job, num_cpus)
        ref = self.remote.options(**options).remote(job)
        self.refs[ref] = job.node.id

    def wait(self, timeout: float) -> list[Completion]:
        if not self.refs:
            time.sleep(min(timeout, 0.05))
            return []
        ready, _ = self.ray.wait(list(self.refs), num_returns=len(self.refs), timeout=timeout)
        completions = []
        for ref in ready:
            node_id = self.refs.pop(ref)
            try:
                result = self.ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - worker crash, node death, Ray OOM kill, cancel
                result = JobDied(f"Ray task died: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            completions.append(Completion(node_id, result))
        return completions

    def cancel(self) -> None:
        """Asks every task to stop (KeyboardInterrupt in the task, so it cleans up), then forces it."""
        refs = list(self.refs)
        for ref in refs:
            self.ray.cancel(ref, force=False)
        _, pending = self.ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for ref in pending:
            self.ray.cancel(ref, force=True)
        self.refs.clear()

    def close(self) -> None:
        self.refs.clear()
        self.ray.shutdown()


@contextlib.contextmanager
def _keep_signal_handlers():
    """Restores SIGINT / SIGTERM handlers that a library replaced (only the main thread has any)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _with_threads(job: StageJob, threads: int) -> StageJob:
    import dataclasses

    return dataclasses.replace(job, threads=int(threads))


def _visible_gpus() -> int:
    import torch

    if not torch.cuda.is_available():
        return 0
    return torch.cuda.device_count() if "CUDA_VISIBLE_DEVICES" not in os.environ else len(
        [g for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()])
