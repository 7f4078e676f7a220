"""One lock per content key, so two runs (or two workers) never build the same artifact at once.

Locks are files under ``<results>/.locks/<kind>/<key>.lock`` held with ``flock`` (the
``filelock`` package): the operating system drops them when the holder dies, even by SIGKILL,
so a killed run never leaves a lock that blocks the next one. A builder takes the lock, then
looks again whether the artifact exists (another run may have finished it meanwhile), and only
then builds.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

LOCKS_FOLDER = ".locks"


def lock_path(results_root: str | os.PathLike[str], kind: str, key: str) -> Path:
    return Path(results_root) / LOCKS_FOLDER / kind / f"{key}.lock"


def key_lock(results_root: str | os.PathLike[str], kind: str, key: str) -> FileLock:
    """The (not yet acquired) lock of one stage key; use as ``with key_lock(...):`` to build."""
    path = lock_path(results_root, kind, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), thread_local=False)


def held_elsewhere(results_root: str | os.PathLike[str], kind: str, key: str) -> bool:
    """True while another process (or another lock object of this one) is building ``key``."""
    path = lock_path(results_root, kind, key)
    if not path.exists():
        return False
    lock = FileLock(str(path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # a read-only results folder: nobody can be building there
        return False
    lock.release()
    return False
