"""Run a suite: its plan, executed by one scheduler on the chosen backend, recorded as one run.

A cell whose ``result.json`` carries the config hash of its evaluation stage is finished and is
not run again, and every artifact found in the cache is reused, so re-running a finished suite
recomputes nothing and an interrupted one resumes. A stage that crashes fails the cells that
need it (each records an ``error`` event) and the rest goes on; the caller gets the failures.
A run stopped by KeyboardInterrupt (SIGINT, or SIGTERM turned into it by the CLI) records
``cancelled`` in each cell that had started and the interrupt goes on up.

While it runs, ``results/<suite>/_suite/runs/<run-id>.json`` names its process, executor and
cells (see ``store/suite_folder.py``), so a dashboard can show queued cells, tell a killed run
from a working one, and show several runs of one suite side by side.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kdss_bench.cell import Cell
from kdss_bench.config import Suite
from kdss_bench.errors import ConfigError, disk_full
from kdss_bench.runner.executors.backend import ExecutorOptions
from kdss_bench.runner.grid import expand_grid
from kdss_bench.runner.scheduler import CANCELLED, Scheduler
from kdss_bench.store.event import Event
from kdss_bench.store.suite_folder import CANCELLED as RUN_CANCELLED
from kdss_bench.store.suite_folder import FAILED as RUN_FAILED
from kdss_bench.store.suite_folder import FINISHED as RUN_FINISHED
from kdss_bench.store.suite_folder import SuiteFolder

Listener = Callable[[Event], None]
log = logging.getLogger(__name__)

__all__ = ["CANCELLED", "SuiteOutcome", "run_suite", "select_cells"]


@dataclass
class SuiteOutcome:
    cells: list[Cell]
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_time_s: float = 0.0
    built: list[str] = field(default_factory=list)
    """Ids of the plan's nodes this run built (the rest were cached or failed)."""
    retried: dict[str, int] = field(default_factory=dict)
    run_id: str = ""


def select_cells(suite: Suite, cell_ids: Iterable[str] | None) -> list[Cell]:
    """The suite's cells in grid order, only those named in ``cell_ids`` when given (``--cells``)."""
    cells = expand_grid(suite)
    if cell_ids is None:
        return cells
    wanted = [name.strip() for name in cell_ids if name.strip()]
    known = [cell.id for cell in cells]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        what = f"cell {unknown[0]!r} is not" if unknown else "no cell id is"
        raise ConfigError(f"--cells: {what} in suite '{suite.name}' ({suite.path}); valid ids: {', '.join(known)}")
    chosen = set(wanted)
    return [cell for cell in cells if cell.id in chosen]


def _cell_entry(suite: Suite, cell: Cell) -> dict:
    """A cell as a run record lists it: its id and every axis value (what a table row and column need)."""
    from kdss_bench.runner.grid import cell_budget, cell_label_fraction, cell_model, cell_protocol

    entry = {"cell": cell.id, "method": cell.method, "target": cell.target, "seed": cell.seed,
             "budget": cell_budget(suite, cell), "model": cell_model(suite, cell)}
    if suite.has_evaluation_axes:  # as the cell's result.json names them
        entry.update(protocol=cell_protocol(suite, cell), label_fraction=cell_label_fraction(suite, cell))
    return entry


def _warn_if_oversubscribed(backend, options: ExecutorOptions) -> None:
    """One warning line when the stages running at once want more CPU threads than there are cores."""
    from kdss_bench.runner.threads import oversubscription_warning

    if options.executor == "inline":
        import torch

        slots, threads = 1, options.threads or torch.get_num_threads()
    elif options.executor == "local":
        slots, threads = len(backend.slots), backend.threads
    else:
        return  # Ray and SLURM place stages by their own CPU counts
    warning = oversubscription_warning(threads, slots)
    if warning is not None:
        log.warning("%s", warning.removeprefix("warning: "))


def run_suite(suite: Suite, *, results_root: Path, device: str = "auto", listener: Listener | None = None,
              only_cells: Iterable[str] | None = None, executor: ExecutorOptions | None = None) -> SuiteOutcome:
    """Runs the suite's cells (``only_cells``: just these ids, grid order kept) and returns what happened."""
    from kdss_bench.runner.environment import resolve_device
    from kdss_bench.runner.executors import make_backend
    from kdss_bench.runner.plan import build_plan, plan_status

    options = executor or ExecutorOptions()
    results_root = Path(results_root)
    options = dataclasses.replace(options, results_root=str(results_root),
                                  slurm={**suite.slurm, **options.slurm})
    cells = select_cells(suite, only_cells)
    resolved = resolve_device(device if device != "auto" else suite.device)
    started = time.perf_counter()
    inline = options.executor == "inline"
    # the backend first: local workers start up (import torch) while the plan reads the datasets
    backend = make_backend(options, cuda=resolved.type == "cuda", listener=listener if inline else None)
    _warn_if_oversubscribed(backend, options)
    outcome = SuiteOutcome(cells=cells)
    try:
        plan = build_plan(suite, cells)  # reads every dataset: bad data fails here, before any folder is written
        status = plan_status(plan, results_root)
        if getattr(listener, "on_plan", None) is not None:
            from kdss_bench.runner.stage_estimates import estimate_plan

            listener.on_plan(plan, status, estimate_plan(plan, results_root, device=resolved.type,
                                                         threads=options.threads))
        if getattr(listener, "on_backend", None) is not None:
            listener.on_backend(backend.describe(), getattr(backend, "concurrency", 1))
        folder = SuiteFolder(results_root, suite.name)
        record = folder.start_run(
            [{**_cell_entry(suite, cell), "config_hash": plan.config_hash(cell.id)} for cell in cells],
            suite_path=str(Path(suite.path).resolve()), executor=options.executor, workers=options.workers,
            suite_cells=[_cell_entry(suite, cell) for cell in expand_grid(suite)])
        outcome.run_id = record["run_id"]
        scheduler = Scheduler(plan, backend, results_root=results_root, device=resolved.type,
                              threads=options.threads, retries=options.retries, status=status,
                              run_id=record["run_id"], listener=listener, tail_events=not inline)
        state = RUN_CANCELLED
        try:
            result = scheduler.run()
            state = RUN_FAILED if result.failed else RUN_FINISHED
        finally:
            done = scheduler.outcome
            outcome.finished, outcome.skipped, outcome.failed = done.finished, done.skipped, done.failed
            outcome.built, outcome.retried = done.built, done.retried
            try:
                folder.end_run(record, state, finished=len(done.finished), skipped=len(done.skipped),
                               failed=len(done.failed))
            except Exception as exc:  # noqa: BLE001 - on a full disk the record stays "running": a dead run
                if disk_full(exc) is None:
                    raise
    finally:
        backend.close()
        outcome.wall_time_s = time.perf_counter() - started
    return outcome
