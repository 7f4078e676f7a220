"""Content-addressed artifacts: a stage's output is stored under the hash of what produced it.

A folder ``<root>/<stage>/<key>/`` exists only once complete: it is built under a temporary name
and renamed into place, so an interrupted stage leaves no half artifact behind, and any later run
(of this suite or another) with the same inputs reuses it. Builders hold the key's lock
(``store/key_lock.py``) while they build, so a temporary folder of the same key that they find
is a leftover of a killed builder and is removed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kdss_bench import PROTOCOL_VERSION

STAGE_RECORD_FILE = "stage.json"
"""What built an artifact, and its cost: kind, key, size, wall time, peak memory, device, threads."""


def content_key(parts: dict[str, Any]) -> str:
    """A stable 20-hex-digit hash of ``parts`` (plus the protocol version)."""
    canonical = json.dumps({"protocol": PROTOCOL_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


@functools.lru_cache(maxsize=8)
def file_sha256(path: str) -> str:
    """Content hash of an input file (a teacher checkpoint): identity by bytes, not by where it lies."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArtifactCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        return self.folder(stage, key).is_dir()

    def work_dir(self, stage: str, key: str) -> Path:
        """Scratch space that survives interruption (resumable checkpoints), removed on completion."""
        return self.root / stage / f"{key}.work"

    def remove_leftovers(self, stage: str, key: str) -> None:
        """Deletes temporary folders of ``key`` left by killed builders (call with the key's lock held)."""
        parent = self.root / stage
        for leftover in parent.glob(f"{key}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        work = self.work_dir(stage, key)
        for partial in work.glob("*.tmp-*") if work.is_dir() else ():
            partial.unlink(missing_ok=True)

    @contextmanager
    def create(self, stage: str, key: str) -> Iterator[Path]:
        """Yield a temporary folder to fill; on success it becomes ``folder(stage, key)`` atomically."""
        final = self.folder(stage, key)
        temporary = final.with_name(f"{key}.tmp-{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        try:
            yield temporary
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        try:
            os.replace(temporary, final)
        except OSError:  # another process finished the same artifact first: keep theirs
            shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(self.work_dir(stage, key), ignore_errors=True)

    def read_stage_record(self, stage: str, key: str) -> dict[str, Any] | None:
        """The artifact's ``stage.json`` (None when absent or unreadable: older artifacts have none)."""
        try:
            record = json.loads((self.folder(stage, key) / STAGE_RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None


def write_stage_record(folder: Path, record: dict[str, Any]) -> None:
    """Writes ``stage.json`` into an artifact folder being built (it is renamed into place with it)."""
    (folder / STAGE_RECORD_FILE).write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")


def artifact_function(cache: ArtifactCache) -> Callable[[str, dict, Callable[[Path], None]], Path]:
    """The ``ctx.artifact(name, parts, build)`` a method gets: a cached intermediate built once."""

    def artifact(name: str, parts: dict, build: Callable[[Path], None]) -> Path:
        key = intermediate_key(name, parts)
        if not cache.has(name, key):
            with cache.create(name, key) as folder:
                build(folder)
        return cache.folder(name, key)

    return artifact


def intermediate_key(name: str, parts: dict) -> str:
    """The cache key of a method's intermediate artifact (the plan names its node with the same key)."""
    return content_key({"artifact": name, **parts})
