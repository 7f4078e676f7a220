"""The body of one ``local`` worker process: receive stage jobs on a pipe, run them, send outcomes back.

Started as ``python -m kdss_bench.runner.executors.local_worker FD LABEL`` (a fresh interpreter, so
nothing of the parent, CUDA state, threads or its main script, leaks in); its slot's
``CUDA_VISIBLE_DEVICES`` and thread count are in its environment before torch is first imported,
and jobs and outcomes travel pickled over the inherited pipe ``FD``. SIGINT is ignored (a Ctrl-C
in the terminal reaches the whole process group; the parent decides what a cancel means) and
SIGTERM becomes KeyboardInterrupt, so a cancelled stage unwinds and removes its temporary folder
before the process exits.
"""

from __future__ import annotations

import signal
import sys
import traceback


def worker_main(connection, label: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum, frame):
        raise KeyboardInterrupt(f"worker {label}: SIGTERM")

    signal.signal(signal.SIGTERM, stop)
    # import torch and every stage now, while the parent plans, rather than on the first job
    import kdss_bench.runner.stages  # noqa: F401
    from kdss_bench.runner.stage_job import FAILED, JobOutcome, run_stage_job

    try:
        while True:
            try:
                job = connection.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            try:
                outcome = run_stage_job(job, worker=label)
            except KeyboardInterrupt:
                return
            except BaseException as exc:  # noqa: BLE001 - a bug outside the stage must still report back
                outcome = JobOutcome(job.node.id, FAILED, error=f"{type(exc).__name__}: {exc}",
                                     traceback=traceback.format_exc(limit=20))
            try:
                connection.send(outcome)
            except (BrokenPipeError, OSError):
                return
    except KeyboardInterrupt:  # a SIGTERM between jobs, or while an outcome is being sent, ends it quietly too
        return


if __name__ == "__main__":
    from multiprocessing.connection import Connection

    worker_main(Connection(int(sys.argv[1])), sys.argv[2])
