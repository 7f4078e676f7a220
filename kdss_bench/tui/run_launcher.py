"""Starts ``kdss-bench run`` as a child process and cancels it, without ever waiting on it.

A run is a separate process (its own process group, so a cancel reaches every process it
started and a Ctrl-C in the dashboard's terminal does not reach it), its output goes to a log
file next to the suite's results, and the dashboard follows it only through the files it
writes: exactly as it follows a run started by hand in another terminal. Cancelling sends
SIGINT (the run records ``cancelled`` and keeps finished cells), then SIGTERM if the run is
still alive after a grace period; :meth:`RunLauncher.poll` does the escalation, so no call here
blocks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kdss_bench.store.process_alive import pid_alive
from kdss_bench.store.suite_folder import SuiteFolder

CANCEL_GRACE_S = 10.0


@dataclass
class Launch:
    """One ``kdss-bench run`` started by the dashboard."""

    suite: str
    suite_path: Path
    cells: tuple[str, ...]
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    started_at: float
    cancel_requested_at: float | None = None
    terminated: bool = False
    returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.returncode is None

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the run's output (its one-line error when it could not start)."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - 8192))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

    def outcome(self) -> str:
        """What the exit status means, in words (the `kdss-bench run` exit codes)."""
        code = self.returncode
        if code == 0:
            return "finished"
        if code == 1:
            return "finished with failed cells"
        if code == 2:
            return "could not start"
        if code in (130, -signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGTERM):
            return "cancelled"
        return f"crashed (exit status {code})"


def suite_name_of(suite_path: Path) -> str:
    """The suite's ``name:`` (its results folder), read without validating the whole file."""
    try:
        data = yaml.safe_load(Path(suite_path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        data = None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name and "/" not in name else Path(suite_path).stem


class RunLauncher:
    """Starts, follows and cancels suite runs; thread-safe (the dashboard polls it from a worker)."""

    def __init__(self, results_root: Path, *, python: str = sys.executable, grace_s: float = CANCEL_GRACE_S,
                 cwd: Path | None = None) -> None:
        self.results_root = Path(results_root)
        self.python = python
        self.grace_s = grace_s
        self.cwd = cwd
        self._lock = threading.Lock()
        self._launches: list[Launch] = []
        self._external: dict[int, float] = {}
        """Runs started elsewhere that we asked to stop: pid -> when SIGINT was sent."""

    # -- starting ------------------------------------------------------------------------------

    def command(self, suite_path: Path, cells: Sequence[str] = ()) -> list[str]:
        command = [self.python, "-m", "kdss_bench", "run", str(suite_path), "--results", str(self.results_root)]
        if cells:
            command += ["--cells", ",".join(cells)]
        return command

    def launch(self, suite_path: Path, cells: Sequence[str] = (), suite: str | None = None) -> Launch:
        """Starts the run and returns at once; output goes to ``results/<suite>/_suite/launch-<time>.log``."""
        suite_path = Path(suite_path)
        suite = suite or suite_name_of(suite_path)
        log_folder = SuiteFolder(self.results_root, suite).path
        log_folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log_path = log_folder / f"launch-{stamp}.log"
        counter = 1
        while log_path.exists():
            counter += 1
            log_path = log_folder / f"launch-{stamp}-{counter}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                self.command(suite_path, cells), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.cwd, start_new_session=True,
            )
        launch = Launch(suite, suite_path, tuple(cells), log_path, process, time.time())
        with self._lock:
            self._launches.append(launch)
        return launch

    # -- following -----------------------------------------------------------------------------

    def launches(self) -> list[Launch]:
        with self._lock:
            return list(self._launches)

    def running(self, suite: str) -> Launch | None:
        """The dashboard's live launch of ``suite``, if any."""
        with self._lock:
            for launch in reversed(self._launches):
                if launch.suite == suite and launch.running:
                    return launch
        return None

    def poll(self, now: float | None = None) -> list[Launch]:
        """Reaps launches that exited (returned once each) and escalates overdue cancels to SIGTERM."""
        now = time.time() if now is None else now
        ended = []
        with self._lock:
            for launch in self._launches:
                if launch.returncode is not None:
                    continue
                code = launch.process.poll()
                if code is not None:
                    launch.returncode = code
                    ended.append(launch)
                elif (launch.cancel_requested_at is not None and not launch.terminated
                      and now - launch.cancel_requested_at >= self.grace_s):
                    _signal_group(launch.pid, signal.SIGTERM)
                    launch.terminated = True
            for pid, asked in list(self._external.items()):
                if not pid_alive(pid):
                    del self._external[pid]
                elif now - asked >= self.grace_s:
                    _signal_pid(pid, signal.SIGTERM)
                    del self._external[pid]
        return ended

    # -- cancelling ----------------------------------------------------------------------------

    def cancel(self, suite: str) -> str:
        """Asks the run of ``suite`` to stop (ours, or a headless one on this host); says what it did."""
        launch = self.running(suite)
        if launch is not None:
            with self._lock:
                if launch.cancel_requested_at is None:
                    launch.cancel_requested_at = time.time()
            _signal_group(launch.pid, signal.SIGINT)
            return f"cancelling {suite} (pid {launch.pid}): SIGINT sent, SIGTERM in {self.grace_s:.0f} s if needed"
        folder = SuiteFolder(self.results_root, suite)
        runs = [run for run in folder.runs() if run.get("state") == "running"]
        here = [run for run in runs if run.get("host") in (None, socket.gethostname())]
        if not runs:
            return f"no run of {suite} to cancel: no running record in {folder.runs_path}"
        if not here:
            return f"the run of {suite} is on host {runs[-1].get('host')}; cancel it there (Ctrl-C in its terminal)"
        stopped = []
        for run in here:
            pid = run.get("pid")
            if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):
                continue
            _signal_pid(pid, signal.SIGINT)  # the run cancels its stages on every executor (Ray tasks, SLURM jobs)
            with self._lock:
                self._external.setdefault(pid, time.time())
            stopped.append(f"pid {pid}, {run.get('executor', 'inline')}")
        if not stopped:
            return f"the run of {suite} has already stopped"
        return f"cancelling {suite} ({'; '.join(stopped)}, started elsewhere): SIGINT sent"


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # start_new_session: the child leads its own group
    except (ProcessLookupError, PermissionError):
        pass


def _signal_pid(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
