"""``results/index.sqlite``: a queryable cache of every ``result.json`` and stage cost under a results root.

What it is for: answering across many suites at once without walking every folder (the
``table`` of a results root with hundreds of cells), and the cost history that ``plan`` turns into
estimates (table ``stages``: wall time and peak memory of every stage built, by kind and size).
The run folders and the artifacts' ``stage.json`` are the truth and this index can always be
rebuilt from them. The parent
process is meant to be its only writer, but it is safe with several: WAL mode lets readers
run beside a writer, a 30 s busy timeout makes a blocked writer wait instead of failing, and
``BEGIN IMMEDIATE`` takes the write lock up front so two writers never deadlock upgrading a
read lock (SQLite's "database is locked" under default settings).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdss_bench.errors import KdssError, raise_if_disk_full
from kdss_bench.store.result_file import ResultFileError, check_result, read_result_file
from kdss_bench.store.run_dir import iter_run_dirs

INDEX_FILE = "index.sqlite"
SCHEMA_VERSION = 3
"""Stored in ``PRAGMA user_version``; a different version makes the index rebuild itself."""

BUSY_TIMEOUT_S = 30.0

COLUMNS: tuple[tuple[str, str], ...] = (
    ("suite", "TEXT NOT NULL"),
    ("cell", "TEXT NOT NULL"),
    ("method", "TEXT"),
    ("source", "TEXT"),
    ("target", "TEXT"),
    ("seed", "INTEGER"),
    ("budget", "INTEGER"),
    ("resolution", "INTEGER"),
    ("model", "TEXT"),
    ("eval", "TEXT"),
    ("protocol", "TEXT"),
    ("label_fraction", "REAL"),
    ("recipe", "TEXT"),
    ("accuracy", "REAL"),
    ("test_loss", "REAL"),
    ("wall_time_s", "REAL"),
    ("peak_memory_mb", "REAL"),
    ("config_hash", "TEXT"),
    ("protocol_version", "INTEGER"),
    ("git_commit", "TEXT"),
    ("device", "TEXT"),
    ("finished_at", "TEXT"),
)
"""Result keys copied into columns for querying; the whole result is kept in ``payload``."""

COLUMN_NAMES = tuple(name for name, _ in COLUMNS)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedResult:
    """A ``result.json`` that could not be indexed, and why."""

    path: Path
    reason: str


class ResultIndex:
    """The SQLite index of one results root. Use one instance per process (or thread-shared)."""

    def __init__(self, results_root: str | os.PathLike[str]) -> None:
        self.results_root = Path(results_root)
        self.results_root.mkdir(parents=True, exist_ok=True)
        self.path = self.results_root / INDEX_FILE
        self.skipped: list[SkippedResult] = []
        """Results the last :meth:`rebuild` or :meth:`sync` could not read (also logged)."""
        self._warned: set[SkippedResult] = set()
        self._lock = threading.RLock()
        self.repaired: str | None = None
        """The one line saying that a broken index was moved aside and rebuilt (None when it was fine)."""
        try:
            self._open()
        except sqlite3.DatabaseError as error:
            if not _is_damage(error):
                raise
            self._repair(error)

    def _open(self) -> None:
        try:
            self._connect()
        except sqlite3.OperationalError as error:
            raise_if_disk_full(_as_disk_full(error, self.results_root), self.path)
            if _is_damage(error):
                raise
            raise _index_trouble(self.path, error) from error

    def _connect(self) -> None:
        self._db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _enter_wal_mode(self._db)
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._ensure_schema()
        except BaseException:
            self._db.close()
            raise

    def _repair(self, error: sqlite3.DatabaseError) -> None:
        """The index is derived data: a garbage or truncated file is moved aside and rebuilt from the folders."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._db.close()
            aside = self.path.with_name(f"{INDEX_FILE}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path, aside)  # another process may have moved it first: then it is gone
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            self._open()
            self.repaired = (f"{self.path} was unreadable ({' '.join(str(error).split())}); moved it to {aside.name} "
                             f"and rebuilt the index from the result folders ({len(self)} results)")
            log.warning("%s", self.repaired)

    def _retry_damaged(self, operation):
        """Runs ``operation()``; if the index turns out damaged meanwhile, repairs it and runs it once more."""
        try:
            return operation()
        except sqlite3.DatabaseError as error:
            if not _is_damage(error):
                raise
            self._repair(error)
            return operation()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResultIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, result: Mapping[str, Any], *, file_stamp: str | None = None) -> None:
        """Adds or replaces the row of ``result`` (keyed by its ``suite`` and ``cell``).

        ``file_stamp`` records which version of ``result.json`` the row came from, so
        :meth:`sync` can skip unchanged files; rows without one are re-read by the next sync.
        """
        record = dict(result)
        check_result(record, where=f"result {record.get('suite')!r}/{record.get('cell')!r}")
        row = _row_values(record, file_stamp)

        def write() -> None:
            with self._write() as db:
                db.execute(_UPSERT_SQL, row)

        self._retry_damaged(write)

    def rebuild(self) -> int:
        """Drops the table and re-reads every ``result.json`` under the root; returns the count indexed.

        Unreadable results are skipped, logged and listed in :attr:`skipped`. Readers see the
        old table until the new one is committed.
        """
        rows, skipped, _ = self._read_results(known={})
        self._set_skipped(skipped)
        with self._write() as db:
            db.execute("DROP TABLE IF EXISTS results")
            db.execute(_CREATE_SQL)
            db.executemany(_UPSERT_SQL, rows)
            _fill_stages(db, self.results_root, rows)
        return len(rows)

    def sync(self) -> int:
        return self._retry_damaged(self._sync)

    def _sync(self) -> int:
        """Brings the index up to date cheaply; returns how many rows were added, changed or removed.

        Only ``result.json`` files whose stamp (mtime, size, inode) differs from the indexed
        one are read; rows whose folder or result file has gone, or whose file no longer
        parses, are deleted (see :attr:`skipped`).
        """
        with self._lock:
            known = dict(
                ((suite, cell), stamp)
                for suite, cell, stamp in self._db.execute("SELECT suite, cell, file_stamp FROM results")
            )
        rows, skipped, present = self._read_results(known=known)
        self._set_skipped(skipped)
        gone = [key for key in known if key not in present]
        if rows or gone:
            with self._write() as db:
                db.executemany(_UPSERT_SQL, rows)
                db.executemany("DELETE FROM results WHERE suite = ? AND cell = ?", gone)
        return len(rows) + len(gone)

    def upsert_stage(self, record: Mapping[str, Any]) -> None:
        """Records what building one stage cost (a ``stage.json``), keyed by its kind and key."""
        row = _stage_row(record)
        if row is None:
            return

        def write() -> None:
            with self._write() as db:
                db.execute(_STAGE_UPSERT_SQL, row)

        self._retry_damaged(write)

    def stage_costs(self, kind: str, size_key: str) -> list[dict[str, Any]]:
        """Earlier builds of stages of this kind and size: wall time, peak memory, device, threads."""
        return self._retry_damaged(lambda: self._stage_costs(kind, size_key))

    def _stage_costs(self, kind: str, size_key: str) -> list[dict[str, Any]]:
        with self._lock:
            fetched = self._db.execute(
                "SELECT device, threads, wall_time_s, peak_memory_mb FROM stages WHERE kind = ? AND size_key = ? "
                "ORDER BY built_at", (kind, size_key)).fetchall()
        return [dict(zip(("device", "threads", "wall_time_s", "peak_memory_mb"), row, strict=True))
                for row in fetched]

    def delete(self, suite: str, cell: str) -> bool:
        """Removes one row; returns whether it existed."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM results WHERE suite = ? AND cell = ?", (suite, cell))
            return cursor.rowcount > 0

    # -- reads -----------------------------------------------------------------------------

    def rows(self, suite: str | None = None) -> list[dict[str, Any]]:
        return self._retry_damaged(lambda: self._rows(suite))

    def _rows(self, suite: str | None) -> list[dict[str, Any]]:
        """Indexed results ordered by suite and cell: the columns plus ``payload`` (the whole result)."""
        sql = f"SELECT {_COLUMN_LIST}, payload FROM results"
        params: tuple[Any, ...] = ()
        if suite is not None:
            sql += " WHERE suite = ?"
            params = (suite,)
        sql += " ORDER BY suite, cell"
        with self._lock:
            fetched = self._db.execute(sql, params).fetchall()
        return [_row_dict(values) for values in fetched]

    def get(self, suite: str, cell: str) -> dict[str, Any] | None:
        with self._lock:
            values = self._db.execute(
                f"SELECT {_COLUMN_LIST}, payload FROM results WHERE suite = ? AND cell = ?", (suite, cell)
            ).fetchone()
        return None if values is None else _row_dict(values)

    def suites(self) -> list[str]:
        with self._lock:
            return [name for (name,) in self._db.execute("SELECT DISTINCT suite FROM results ORDER BY suite")]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    # -- internals -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (``BEGIN IMMEDIATE``)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                raise_if_disk_full(_as_disk_full(error, self.results_root), self.path)
                raise _index_trouble(self.path, error) from error

    def _schema_is_current(self, db: sqlite3.Connection) -> bool:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'results'").fetchone()
        return version == SCHEMA_VERSION and exists is not None

    def _ensure_schema(self) -> None:
        """Creates the table (or replaces one of another schema version) filled from the folders.

        The check and the fill are one transaction: when several processes open a new index at
        once, only the first creates it, and a later one never wipes rows the others wrote since.
        """
        with self._write() as db:
            if self._schema_is_current(db):
                return
        rows, skipped, _ = self._read_results(known={})  # the slow walk, outside the write lock
        with self._write() as db:
            if self._schema_is_current(db):
                return
            db.execute("DROP TABLE IF EXISTS results")
            db.execute(_CREATE_SQL)
            db.executemany(_UPSERT_SQL, rows)
            _fill_stages(db, self.results_root, rows)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._set_skipped(skipped)

    def _read_results(
        self, known: Mapping[tuple[str, str], str | None]
    ) -> tuple[list[tuple[Any, ...]], list[SkippedResult], set[tuple[str, str]]]:
        """One walk over the run folders: rows of result files whose stamp differs from ``known``
        (all of them if it is empty), the files that could not be read, and the keys with a valid file.
        """
        rows: list[tuple[Any, ...]] = []
        skipped: list[SkippedResult] = []
        present: set[tuple[str, str]] = set()
        for run in iter_run_dirs(self.results_root):
            stamp = _file_stamp(run.result_path)
            if stamp is None:
                continue
            if known and known.get((run.suite, run.cell)) == stamp:
                present.add((run.suite, run.cell))
                continue
            try:
                result = read_result_file(run.result_path)
                if (result["suite"], result["cell"]) != (run.suite, run.cell):
                    raise ResultFileError(
                        f"{run.result_path}: names {result['suite']}/{result['cell']} but lies in "
                        f"{run.run_id}; move it or fix its suite/cell"
                    )
                rows.append(_row_values(result, stamp))
                present.add((run.suite, run.cell))
            except (ResultFileError, TypeError, ValueError) as error:
                skipped.append(SkippedResult(run.result_path, str(error)))
        return rows, skipped, present

    def _set_skipped(self, skipped: list[SkippedResult]) -> None:
        """Records the unreadable results; logs each one once, not on every poll of a dashboard."""
        self.skipped = skipped
        for item in skipped:
            if item not in self._warned:
                self._warned.add(item)
                reason = item.reason if item.reason.startswith(str(item.path)) else f"{item.path}: {item.reason}"
                log.warning("skipped result %s", reason)


LOW_SPACE_BYTES = 4 * 2**20
"""Below this much free space, SQLite's "disk I/O error" (it cannot grow its WAL or shared memory) is a full disk."""


def _as_disk_full(error: sqlite3.OperationalError, root: Path) -> BaseException:
    """SQLite reports a full disk as "database or disk is full", or as "disk I/O error" when the WAL or its
    shared-memory file cannot grow; the latter counts as a full disk only when the disk is (nearly) full."""
    if "disk i/o error" in str(error).lower():
        try:
            if shutil.disk_usage(root).free < LOW_SPACE_BYTES:
                return OSError(28, "No space left on device")
        except OSError:
            pass
    return error


def _index_trouble(path: Path, error: sqlite3.OperationalError) -> KdssError:
    """One line for what SQLite could not do (a lock held past the timeout, a read-only disk, an I/O error)."""
    return KdssError(f"{path}: {' '.join(str(error).split())}; check the disk and that no other program holds "
                     "the file (the index can be deleted: it is rebuilt from the result folders)")


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """A garbage, truncated or malformed file, as opposed to a transient lock, a full disk or permissions."""
    text = str(error).lower()
    transient = ("locked", "busy", "disk is full", "unable to open", "readonly", "read-only", "disk i/o")
    return not (isinstance(error, sqlite3.OperationalError) and any(word in text for word in transient))


def _enter_wal_mode(db: sqlite3.Connection) -> None:
    """Switches the file to WAL, retrying while another process holds it.

    The switch needs an exclusive lock, and SQLite may answer "database is locked" at once
    without calling the busy handler (seen when several processes open a new index together),
    so the busy timeout alone does not cover it.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


_COLUMN_LIST = ", ".join(f'"{name}"' for name in COLUMN_NAMES)
_CREATE_SQL = (
    "CREATE TABLE results ("
    + ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS)
    + ", payload TEXT NOT NULL, file_stamp TEXT, PRIMARY KEY (suite, cell))"
)
_UPSERT_SQL = (
    f"INSERT OR REPLACE INTO results ({_COLUMN_LIST}, payload, file_stamp) "
    f"VALUES ({', '.join('?' * (len(COLUMN_NAMES) + 2))})"
)


STAGE_COLUMNS = ("kind", "key", "size_key", "device", "threads", "wall_time_s", "peak_memory_mb", "built_at")
_CREATE_STAGES_SQL = (
    "CREATE TABLE stages (kind TEXT NOT NULL, key TEXT NOT NULL, size_key TEXT, device TEXT, threads INTEGER, "
    "wall_time_s REAL, peak_memory_mb REAL, built_at REAL, PRIMARY KEY (kind, key))"
)
_STAGE_UPSERT_SQL = f"INSERT OR REPLACE INTO stages ({', '.join(STAGE_COLUMNS)}) VALUES ({', '.join('?' * 8)})"


def _stage_row(record: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if not isinstance(record, Mapping) or not isinstance(record.get("kind"), str) or not isinstance(
            record.get("key"), str):
        return None
    return tuple(_sql_value(record.get(name)) for name in STAGE_COLUMNS)


def _fill_stages(db: sqlite3.Connection, results_root: Path, result_rows: list[tuple[Any, ...]]) -> None:
    """(Re)creates the ``stages`` table from every artifact's ``stage.json`` and every result's record."""
    db.execute("DROP TABLE IF EXISTS stages")
    db.execute(_CREATE_STAGES_SQL)
    records = []
    for path in (results_root / ".cache").glob("*/*/stage.json"):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    payload_at = len(COLUMN_NAMES)
    for row in result_rows:
        records.append(json.loads(row[payload_at]).get("stage_record"))
    db.executemany(_STAGE_UPSERT_SQL, [row for row in map(_stage_row, records) if row is not None])


def _row_values(result: Mapping[str, Any], file_stamp: str | None) -> tuple[Any, ...]:
    values = [_sql_value(result.get(name)) for name in COLUMN_NAMES]
    return (*values, json.dumps(result, sort_keys=True), file_stamp)


def _sql_value(value: Any) -> Any:
    """Scalars go in as they are; anything nested is stored as JSON text rather than failing."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return json.dumps(value, sort_keys=True)


def _row_dict(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMN_NAMES, values[:-1], strict=True))
    row["payload"] = json.loads(values[-1])
    return row


def _file_stamp(path: Path) -> str | None:
    """Identifies one version of a file: an atomic rewrite gets a new inode even within one mtime tick."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_ino}"
