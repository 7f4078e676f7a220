"""``--executor inline``: every stage job in this process, one after another (tests, debugging)."""

from __future__ import annotations

from collections import deque

from kdss_bench.runner.executors.backend import Completion, ExecutorOptions
from kdss_bench.runner.stage_job import StageJob, run_stage_job


class InlineBackend:
    name = "inline"

    def __init__(self, options: ExecutorOptions, listener=None) -> None:
        self.options = options
        self.listener = listener
        self.queue: deque[StageJob] = deque()

    @property
    def concurrency(self) -> int:
        """How many stages may run at once (for the suite's ETA)."""
        return 1

    def describe(self) -> str:
        threads = f"{self.options.threads} thread(s)" if self.options.threads else "default threads"
        return f"inline: this process, {threads}"

    def can_start(self, job: StageJob) -> bool:
        return not self.queue

    def submit(self, job: StageJob) -> None:
        self.queue.append(job)

    def in_flight(self) -> int:
        return len(self.queue)

    def wait(self, timeout: float) -> list[Completion]:
        if not self.queue:
            return []
        job = self.queue[0]
        try:
            outcome = run_stage_job(job, worker="main", listener=self.listener)
        finally:
            self.queue.popleft()
        return [Completion(job.node.id, outcome)]

    def cancel(self) -> None:
        self.queue.clear()

    def close(self) -> None:
        self.queue.clear()
