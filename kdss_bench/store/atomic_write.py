"""Writes a file so that readers (and a crash) only ever see the old or the new content.

A worker killed half-way through writing ``result.json`` must not leave a truncated file that
looks like a finished run. So the content goes to a temporary file in the same folder (the
same file system, so the rename is atomic), is flushed and fsynced, and only then replaces the
target with :func:`os.replace`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from kdss_bench.errors import raise_if_disk_full

FILE_MODE = 0o644
"""Mode of the written file; ``mkstemp`` would otherwise leave it readable by its owner only."""


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replaces ``path`` with ``text`` atomically; on any error the old file is left untouched."""
    write_bytes_atomic(path, text.encode(encoding))  # encode first: an unencodable text never creates a temp file


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replaces ``path`` with ``data`` atomically; on any error the old file is left untouched."""
    target = Path(path)
    try:
        _write_replace(target, data)
    except OSError as error:
        raise_if_disk_full(error, target)
        raise
    _fsync_directory(target.parent)


def _write_replace(target: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, FILE_MODE)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into, streamed (for files too large to hold as bytes):
    it replaces ``path`` atomically when the block ends; on any error the old file is left untouched."""
    target = Path(path)
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise_if_disk_full(error, target)
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, FILE_MODE)
        os.replace(temp_name, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise_if_disk_full(error, target)
        raise
    _fsync_directory(target.parent)


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    """Serialises ``obj`` as JSON (UTF-8, trailing newline) and writes it atomically.

    Serialisation happens before anything touches the disk, so an object that cannot be
    serialised raises ``TypeError``/``ValueError`` and leaves the target as it was.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)


def _fsync_directory(folder: Path) -> None:
    """Makes the rename itself durable; best effort (not possible on every platform)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
