"""Append-only ``events.jsonl`` files: one writer appends, any number of readers poll.

Each event is one JSON line written with a single write and flushed, so a reader sees whole
lines plus at most one half-written last line. Readers keep a byte offset and only read what
was appended since, which keeps a dashboard's polling cheap however long a run gets.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from kdss_bench.errors import disk_full, raise_if_disk_full
from kdss_bench.store.event import Event


class EventLog:
    """Appends events to one file; one writer per file (each run folder has its own log).

    If the file ends in a torn line (a previous writer died mid-write), a newline is added
    first so the torn bytes become one corrupt line instead of swallowing the next event.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")
            if _ends_with_torn_line(self.path):
                self._file.write(b"\n")
                self._file.flush()
        except OSError as error:
            raise_if_disk_full(error, self.path)
            raise

    def append(self, event: Event) -> None:
        """Writes ``event`` as one line and flushes it so readers see it at once."""
        line = event.to_json_line().encode("utf-8")
        with self._lock:
            try:
                self._file.write(line)
                self._file.flush()
            except OSError as error:
                raise_if_disk_full(error, self.path)
                raise

    def emit(
        self,
        run: str,
        stage: str,
        kind: str,
        step: int | None = None,
        total: int | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Event:
        """Builds a time-stamped event, appends it and returns it (for forwarding to a console)."""
        event = Event.now(run, stage, kind, step=step, total=total, values=values)
        self.append(event)
        return event

    def close(self) -> None:
        """Closes the file; a full disk at the last flush loses at most the torn last line, never an error."""
        with self._lock:
            try:
                self._file.close()
            except OSError as error:
                if disk_full(error) is None:
                    raise

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventScan(NamedTuple):
    """What one incremental read found."""

    events: list[Event]
    next_offset: int
    """Where the next read starts: just past the last complete line."""
    corrupt_lines: int
    """Complete lines that were not valid events (skipped)."""
    restarted: bool
    """The file was shorter than ``start_offset`` (replaced by a new run), so it was read from 0."""


def scan_events(path: str | os.PathLike[str], start_offset: int = 0) -> EventScan:
    """Reads the complete lines appended since ``start_offset``; see :func:`read_events`."""
    if start_offset < 0:
        raise ValueError(f"start_offset must be >= 0, got {start_offset}")
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return EventScan([], start_offset, 0, False)
    with handle:
        size = os.fstat(handle.fileno()).st_size
        restarted = size < start_offset
        offset = 0 if restarted else start_offset
        if size == offset:
            return EventScan([], offset, 0, restarted)
        handle.seek(offset)
        data = handle.read(size - offset)
    end = data.rfind(b"\n") + 1  # 0 when no complete line yet
    events: list[Event] = []
    corrupt = 0
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            events.append(Event.from_dict(json.loads(line)))
        except ValueError:  # bad JSON, bad UTF-8 or an EventFormatError
            corrupt += 1
    return EventScan(events, offset + end, corrupt, restarted)


def read_events(path: str | os.PathLike[str], start_offset: int = 0) -> tuple[list[Event], int]:
    """Returns the events in complete lines after ``start_offset`` and the offset to read from next.

    A last line without its newline is still being written: it is neither returned nor
    consumed, so the next poll returns it once complete. Corrupt complete lines are skipped
    (:func:`scan_events` counts them). A missing file reads as empty.
    """
    scan = scan_events(path, start_offset)
    return scan.events, scan.next_offset


class EventTail:
    """Follows one events file across polls: keeps the offset and a running corrupt-line count."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0
        self.corrupt_lines = 0
        self.restarted = False
        """Whether the last poll started again from the beginning (the file was replaced or truncated)."""

    def poll(self) -> list[Event]:
        """Events appended since the previous poll (all of them again if the file was replaced)."""
        scan = scan_events(self.path, self.offset)
        self.restarted = scan.restarted
        if scan.restarted:
            self.corrupt_lines = 0
        self.offset = scan.next_offset
        self.corrupt_lines += scan.corrupt_lines
        return scan.events


def _ends_with_torn_line(path: Path) -> bool:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return False
        handle.seek(size - 1)
        return handle.read(1) != b"\n"
