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
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.errors import DamagedArtifactError, raise_if_disk_full

STAGE_RECORD_FILE = "stage.json"
"""What built an artifact, and its cost: kind, key, size, wall time, peak memory, device, threads."""
CHECKSUMS_FILE = "checksums.json"
"""Size and sha256 of every file of an artifact, written as it is completed and checked when it is read."""
log = logging.getLogger(__name__)
_VERIFIED: dict[tuple[str, int, int], str] = {}
"""(path, size, mtime_ns) -> sha256 of files this process already hashed (a file is read once)."""


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
        """Complete, as far as a look at it tells: every recorded file there with its size (no hashing)."""
        folder = self.folder(stage, key)
        if not folder.is_dir():
            return False
        recorded = _read_checksums(folder)
        if recorded is None:
            return True  # an artifact from before checksums were recorded: trusted, its loads are still guarded
        return all(_size(folder / name) == entry.get("size") for name, entry in recorded.items())

    def damage(self, stage: str, key: str) -> str | None:
        """What is wrong with a complete-looking artifact (a missing file, a size or checksum mismatch), or None."""
        folder = self.folder(stage, key)
        if not folder.is_dir():
            return f"{folder} is missing"
        recorded = _read_checksums(folder)
        if recorded is None:
            if (folder / CHECKSUMS_FILE).exists():
                return f"{folder / CHECKSUMS_FILE} is unreadable"
            return None
        for name, entry in recorded.items():
            path = folder / name
            size = _size(path)
            if size is None:
                return f"{path} is missing"
            if size != entry.get("size"):
                return f"{path} is {size} bytes, {entry.get('size')} were written"
            if _sha256(path) != entry.get("sha256"):
                return f"{path} does not match the checksum recorded when it was written"
        return None

    def verified(self, stage: str, key: str) -> Path:
        """The artifact's folder after checking every file against its checksum; a damaged artifact is
        quarantined and :class:`DamagedArtifactError` raised (the scheduler then rebuilds it)."""
        problem = self.damage(stage, key)
        if problem is not None:
            raise self.quarantine(stage, key, problem)
        return self.folder(stage, key)

    def quarantine(self, stage: str, key: str, problem: str) -> DamagedArtifactError:
        """Moves a damaged artifact aside (``<key>.broken-<time>``), logs one line; returns the error to raise."""
        folder = self.folder(stage, key)
        aside = folder.with_name(f"{key}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            os.replace(folder, aside)
            where = f"moved to {aside.name}"
        except OSError:
            where = "already moved aside"
        message = f"{' '.join(problem.split())}; {where}, it will be rebuilt"
        log.warning("cached %s artifact %s: %s", stage, key, message)
        return DamagedArtifactError(stage, key, message)

    def load(self, stage: str, key: str, reader: Callable[[Path], object]):
        """``reader(folder)`` of a verified artifact; a reader that fails (a torn or foreign file) makes the
        artifact count as damaged: quarantined, and :class:`DamagedArtifactError` names the file and why."""
        folder = self.verified(stage, key)
        try:
            return reader(folder)
        except DamagedArtifactError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever a reader raises on a broken file
            detail = " ".join(str(error).split())[:200] or type(error).__name__
            raise self.quarantine(stage, key, f"{folder} is unreadable ({type(error).__name__}: {detail})") from None

    def work_dir(self, stage: str, key: str) -> Path:
        """Scratch space that survives interruption (resumable checkpoints), removed on completion."""
        return self.root / stage / f"{key}.work"

    def remove_leftovers(self, stage: str, key: str) -> None:
        """Deletes temporary folders of ``key`` left by killed builders and moves a damaged ``key`` aside
        (call with the key's lock held: whoever builds it now is the only one)."""
        parent = self.root / stage
        if self.folder(stage, key).is_dir() and not self.has(stage, key):
            self.quarantine(stage, key, "incomplete (a file is missing or has the wrong size)")
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
        try:
            temporary.mkdir(parents=True)
            try:
                yield temporary
                write_checksums(temporary)
            except BaseException:
                shutil.rmtree(temporary, ignore_errors=True)
                raise
        except Exception as error:  # a full disk while building: name the artifact, leave nothing half-built
            raise_if_disk_full(error, final)
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
    """The ``ctx.artifact(name, parts, build)`` a method gets: a cached intermediate built once (and
    built again, after one warning line, if the cached one fails its checksums)."""

    def artifact(name: str, parts: dict, build: Callable[[Path], None]) -> Path:
        key = intermediate_key(name, parts)
        if cache.has(name, key):
            try:
                return cache.verified(name, key)
            except DamagedArtifactError:
                pass  # quarantined: build it again below
        elif cache.folder(name, key).is_dir():
            cache.quarantine(name, key, "incomplete (a file is missing or has the wrong size)")
        with cache.create(name, key) as folder:
            build(folder)
        return cache.folder(name, key)

    return artifact


def write_checksums(folder: Path) -> None:
    """Records size and sha256 of every file under ``folder`` (what :meth:`ArtifactCache.damage` checks)."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != CHECKSUMS_FILE:
            entries[path.relative_to(folder).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    (folder / CHECKSUMS_FILE).write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")


def _read_checksums(folder: Path) -> dict[str, dict] | None:
    try:
        data = json.loads((folder / CHECKSUMS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        return None
    return data


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _sha256(path: Path) -> str:
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _VERIFIED:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _VERIFIED[memo] = digest.hexdigest()
    return _VERIFIED[memo]


def intermediate_key(name: str, parts: dict) -> str:
    """The cache key of a method's intermediate artifact (the plan names its node with the same key)."""
    return content_key({"artifact": name, **parts})
