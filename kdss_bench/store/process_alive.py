"""Is the process named in a ``runner.json`` still running? (a dashboard's "stale" test)

``kill(pid, 0)`` alone is not enough: a finished child that its launcher has not reaped yet is a
zombie that still answers, and after a reboot or a long time the pid may belong to another
program. On Linux ``/proc/<pid>/stat`` tells both apart (state ``Z``; a start time after the
runner wrote its file). A runner on another host cannot be checked, so it is trusted while its
file exists.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

START_TIME_SLACK_S = 2.0
"""The process must have started before the runner wrote ``started_at`` (plus clock-tick rounding)."""


def runner_alive(runner: Mapping[str, Any] | None) -> bool:
    """True while the process of a ``runner.json`` runs (always True for another host's runner)."""
    if runner is None:
        return False
    pid = runner.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    host = runner.get("host")
    if isinstance(host, str) and host and host != socket.gethostname():
        return True
    started_at = runner.get("started_at")
    started = float(started_at) if isinstance(started_at, (int, float)) and not isinstance(started_at, bool) else None
    return pid_alive(pid, started_before=started)


def pid_alive(pid: int, *, started_before: float | None = None) -> bool:
    """True if ``pid`` runs, is not a zombie and (when known) started by ``started_before`` (epoch s)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:  # no /proc (not Linux): kill(0) is all we know
        return True
    state, start_ticks = stat
    if state in ("Z", "X"):
        return False
    if started_before is not None:
        boot = _boot_time()
        if boot is not None:
            started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
            if started > started_before + START_TIME_SLACK_S:
                return False  # the pid was reused by a later process
    return True


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks after boot) from ``/proc/<pid>/stat``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself contain spaces or ')'
    fields = text[text.rfind(")") + 2:].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
