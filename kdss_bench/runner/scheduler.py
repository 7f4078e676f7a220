"""The one scheduler: holds the plan, submits every stage whose inputs exist, records what ends.

It runs in the parent process with any backend. It is the only writer of the SQLite index and
of the run record; stage jobs write their artifacts and their owner cell's folder. A stage that
fails (an exception) fails every cell that needs it, which get a ``cell error`` event naming
the stage, and the rest of the plan goes on. A job that *dies* (its worker killed, its node
lost) is retried ``retries`` times first. On KeyboardInterrupt (SIGINT, or SIGTERM turned into
it by the CLI) the backend stops its jobs, every cell that had started records ``cancelled``,
and the interrupt goes on up. Progress of jobs in other processes reaches the listener by
tailing the cells' ``events.jsonl``, exactly as a dashboard sees it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.errors import disk_full
from kdss_bench.runner.executors.backend import Backend, JobDied
from kdss_bench.runner.plan import CACHED, MISSING, Plan, StageNode
from kdss_bench.runner.stage_job import BUILT, FAILED, JobOutcome, StageJob, UpstreamStage
from kdss_bench.store.artifact_cache import ArtifactCache
from kdss_bench.store.event import Event
from kdss_bench.store.event_log import EventLog, EventTail
from kdss_bench.store.result_index import ResultIndex
from kdss_bench.store.run_dir import RunDir

CANCELLED = "cancelled"
"""The ``message`` of the ``error`` event of a cell stopped by SIGINT / SIGTERM."""
POLL_S = 0.25


@dataclass
class SchedulerOutcome:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)
    """Node ids this run built."""
    retried: dict[str, int] = field(default_factory=dict)


class Scheduler:
    def __init__(self, plan: Plan, backend: Backend, *, results_root: str | Path, device: str,
                 threads: int | None, retries: int, status: dict[str, str], run_id: str,
                 listener: Callable[[Event], None] | None = None, tail_events: bool = False) -> None:
        self.plan = plan
        self.backend = backend
        self.results_root = Path(results_root)
        self.device = device
        self.threads = threads
        self.retries = retries
        self.run_id = run_id
        self.listener = listener
        self.outcome = SchedulerOutcome()
        self.cache = ArtifactCache(self.results_root / ".cache")
        self.upstream: dict[str, UpstreamStage] = {}
        self.pending: list[str] = []
        self.in_flight: dict[str, StageJob] = {}
        self.announced: set[str] = set()
        self.announcing: set[str] = set()
        self.ended: set[str] = set()
        self.rebuilt: set[str] = set()
        self.position = {cell.id: i for i, cell in enumerate(plan.cells, start=1)}
        self.tails: dict[str, EventTail] = {}
        self.index: ResultIndex | None = None
        for node_id, node in plan.nodes.items():
            if status[node_id] == CACHED:
                self.upstream[node_id] = self._cached_upstream(node)
            elif status[node_id] == MISSING:
                self.pending.append(node_id)
            else:
                self.pending.append(node_id)
        if tail_events:
            for cell in plan.cells:
                tail = EventTail(RunDir(self.results_root, plan.suite.name, cell.id).events_path)
                tail.offset = _size(tail.path)
                self.tails[cell.id] = tail

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> SchedulerOutcome:
        for cell in self.plan.cells:
            if self.plan.cell_nodes[cell.id] in self.upstream:
                self.outcome.skipped.append(cell.id)
                self._notify_cell_skipped(cell.id)
        try:
            self._fail_missing()
            while self.pending or self.in_flight:
                self._submit_ready()
                completions = self.backend.wait(POLL_S)
                self._forward_events()
                for completion in completions:
                    self._complete(completion.node_id, completion.result)
                if not completions and not self.in_flight and self.pending and not self._ready():
                    stuck = self.plan.nodes[self.pending[0]]
                    self._fail(stuck, f"{stuck.label}: cannot start (its inputs never became available)", None)
            self._forward_events()
        except KeyboardInterrupt:
            self._cancel()
            raise
        except Exception as exc:
            full = disk_full(exc, self.results_root)
            if full is None:
                raise
            self._cancel(message=str(full))
            raise full from None
        finally:
            if self.index is not None:
                with contextlib.suppress(Exception):
                    self.index.close()
        return self.outcome

    def _ready(self) -> list[str]:
        done = self.upstream
        return [node_id for node_id in self.pending
                if all(dep in done for dep in self.plan.nodes[node_id].deps)]

    def _submit_ready(self) -> None:
        for node_id in self._ready():
            job = self._job(self.plan.nodes[node_id])
            if not self.backend.can_start(job):
                continue
            self.pending.remove(node_id)
            self.in_flight[node_id] = job
            if job.announce_cell:
                self.announcing.add(job.node.owner)
            self.backend.submit(job)
            self._stage(job.node, "submitted")

    def _job(self, node: StageNode) -> StageJob:
        owner = node.owner
        announce = owner not in self.announced and owner not in self.announcing
        chain = self.plan.chains[owner] if node.kind == "evaluate" else ()
        upstream = tuple(self.upstream[dep] for dep in chain if dep != node.id and dep in self.upstream)
        return StageJob(suite=self.plan.suite, node=node, results_root=str(self.results_root), device=self.device,
                        threads=self.threads, executor=self.backend.name, upstream=upstream,
                        announce_cell=announce, cell_step=(self.position[owner], len(self.plan.cells)),
                        cell_config=self.plan.cell_config(owner), run_id=self.run_id)

    # -- endings ---------------------------------------------------------------------------
    def _complete(self, node_id: str, result: JobOutcome | JobDied) -> None:
        job = self.in_flight.pop(node_id)
        node = job.node
        self.announcing.discard(node.owner)
        if isinstance(result, JobDied):
            if job.announce_cell:  # it wrote the cell's start event before it died (right after its lock)
                self.announced.add(node.owner)
            tries = self.outcome.retried.get(node_id, 0)
            if tries < self.retries:
                self.outcome.retried[node_id] = tries + 1
                self.pending.insert(0, node_id)
                self._stage(node, "retry", f"{result.reason}; retry {tries + 1} of {self.retries}")
                return
            self._fail(node, f"{node.label}: {result.reason} (after {tries} retr{'y' if tries == 1 else 'ies'})",
                       None)
            return
        if result.announced:
            self.announced.add(node.owner)
        if result.fatal is not None:
            raise disk_full(result.fatal, self.results_root)
        if result.status == FAILED and result.damaged is not None and self._rebuild(node, result.damaged):
            return
        if result.status == FAILED:
            self._fail(node, result.error or "failed", result.traceback)
            return
        record = result.record
        built = result.status == BUILT
        self._stage(node, "built" if built else "cached")
        if built:
            self.outcome.built.append(node_id)
        self.upstream[node_id] = UpstreamStage(
            kind=node.kind, key=node.key, built_by=node.owner if built else None,
            wall_time_s=record.wall_time_s if record else self._cached_upstream(node).wall_time_s,
            peak_memory_mb=record.peak_memory_mb if record else self._cached_upstream(node).peak_memory_mb)
        index = self._index()
        if record is not None:
            index.upsert_stage(record.as_dict())
        if node.kind == "evaluate":
            cell = node.params["cell"]
            self.ended.add(cell)
            if record is not None and record.result is not None:
                index.upsert(record.result)
                self.outcome.finished.append(cell)
            else:  # another run finished the cell while this one waited for its lock
                self.outcome.skipped.append(cell)
                self._notify_cell_skipped(cell)

    def _rebuild(self, consumer: StageNode, damaged: tuple[str, str]) -> bool:
        """A stage found a cached input damaged (quarantined by then): builds that input again, then retries
        the stage. Once per input and run; False when the input is not a node of this plan."""
        artifact, key = damaged
        found = next((node for node in self.plan.nodes.values() if node.key == key and
                      (node.artifact or node.kind) == artifact), None)
        if found is None or found.id in self.rebuilt or found.id not in self.upstream:
            return False
        self.rebuilt.add(found.id)
        del self.upstream[found.id]
        self.pending[:0] = [found.id, consumer.id]
        self._stage(found, "rebuild", f"its cached artifact was damaged; {consumer.label} waits for the rebuild")
        return True

    def _fail(self, node: StageNode, message: str, trace: str | None) -> None:
        """Fails ``node`` and everything downstream; every cell that needs it gets a ``cell error``."""
        doomed = {node.id} | self._downstream(node.id)
        self.pending = [n for n in self.pending if n not in doomed]
        self._stage(node, "failed", message)
        for other in sorted(doomed - {node.id}, key=list(self.plan.nodes).index):
            self._stage(self.plan.nodes[other], "skipped", f"needs {node.label}")
        for cell in node.cells:
            if cell in self.ended:
                continue
            text = message if cell == node.owner else f"needs {node.label}, which failed: {message}"
            self.outcome.failed[cell] = text
            self.ended.add(cell)
            self._write_cell_event(cell, "error", message=text, traceback=trace or "")

    def _downstream(self, node_id: str) -> set[str]:
        found: set[str] = set()
        frontier = [node_id]
        while frontier:
            current = frontier.pop()
            for other in self.plan.nodes.values():
                if current in other.deps and other.id not in found:
                    found.add(other.id)
                    frontier.append(other.id)
        return found

    def _fail_missing(self) -> None:
        for node_id in list(self.pending):
            node = self.plan.nodes[node_id]
            if node.kind in ("teacher", "target_teacher") and not node.artifact:
                suite = self.plan.suite
                checkpoint = suite.teacher.checkpoint if node.kind == "teacher" else suite.kd_teacher["checkpoint"]
                if checkpoint is None or not Path(checkpoint).is_file():
                    self._fail(node, f"{node.label}: checkpoint {checkpoint} not found", None)
                else:
                    self.pending.remove(node_id)
                    self.upstream[node_id] = UpstreamStage(node.kind, node.key, None)

    def _cancel(self, message: str = CANCELLED) -> None:
        """Stops the jobs in flight; every started, unfinished cell records ``message`` (best effort on a full
        disk: then nothing more can be written, and the next run resumes from what was)."""
        cells = {job.node.owner for job in self.in_flight.values()} | self.announced | self.announcing
        try:
            self.backend.cancel()
        finally:
            for cell in sorted(cells - self.ended, key=self.position.__getitem__):
                self.ended.add(cell)
                try:
                    self._write_cell_event(cell, "error", message=message)
                except Exception as exc:  # noqa: BLE001
                    if disk_full(exc) is None:
                        raise

    # -- writing and telling -----------------------------------------------------------------
    def _write_cell_event(self, cell: str, kind: str, **values: Any) -> None:
        """A ``cell`` event the parent owes (a failure upstream, a cancel); a cell never started gets its start."""
        run_dir = RunDir(self.results_root, self.plan.suite.name, cell)
        with EventLog(run_dir.events_path) as log:
            events = []
            if cell not in self.announced:
                parsed = self.plan.nodes[self.plan.cell_nodes[cell]].params
                events.append(log.emit(run_dir.run_id, "cell", "start", step=self.position[cell],
                                       total=len(self.plan.cells),
                                       values={"run_id": self.run_id,
                                               **{k: parsed[k] for k in ("method", "target", "seed")}}))
                self.announced.add(cell)
            events.append(log.emit(run_dir.run_id, "cell", kind, values=values))
        for event in events:
            self._tell(event)
        self._skip_told(cell, events)

    def _stage(self, node: StageNode, state: str, message: str = "") -> None:
        """Tells the listener (``on_stage``, if it has one) that a node was submitted, built, cached,
        failed, skipped or is retried."""
        on_stage = getattr(self.listener, "on_stage", None)
        if on_stage is not None:
            on_stage(node, state, message)

    def _notify_cell_skipped(self, cell: str) -> None:
        position = self.position[cell]
        self._tell(Event.now(f"{self.plan.suite.name}/{cell}", "cell", "end", step=position,
                             total=len(self.plan.cells), values={"cached": True}))

    def _tell(self, event: Event) -> None:
        if self.listener is not None:
            self.listener(event)

    def _forward_events(self) -> None:
        for tail in self.tails.values():
            for event in tail.poll():
                self._tell(event)

    def _skip_told(self, cell: str, told: list[Event]) -> None:
        """Events the parent wrote itself were told already: the cell's tail passes them over."""
        tail = self.tails.get(cell)
        if tail is not None:
            for event in tail.poll():
                if event not in told:
                    self._tell(event)

    def _index(self) -> ResultIndex:
        if self.index is None:
            self.index = ResultIndex(self.results_root)
        return self.index

    def _cached_upstream(self, node: StageNode) -> UpstreamStage:
        record = self.cache.read_stage_record(node.artifact, node.key) if node.artifact else None
        wall, peak = 0.0, 0.0
        if record is not None:
            wall, peak = float(record.get("wall_time_s") or 0.0), float(record.get("peak_memory_mb") or 0.0)
        elif node.kind == "distill":  # sets built before stage records existed keep their cost in the manifest
            wall, peak = _manifest_cost(self.cache.folder("distill", node.key))
        return UpstreamStage(node.kind, node.key, None, wall, peak)


def _manifest_cost(folder: Path) -> tuple[float, float]:
    import yaml

    try:
        manifest = yaml.safe_load((folder / "manifest.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return 0.0, 0.0
    cost = manifest.get("cost", {}) if isinstance(manifest, dict) else {}
    return float(cost.get("wall_time_s") or 0.0), float(cost.get("peak_memory_mb") or 0.0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
