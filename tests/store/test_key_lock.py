"""kdss_bench.store.key_lock: one lock file per stage key, held with flock and dropped when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import Timeout

from kdss_bench.store.key_lock import LOCKS_FOLDER, held_elsewhere, key_lock, lock_path

REPO = Path(__file__).resolve().parents[2]


def test_the_lock_file_lives_under_locks_by_kind_and_key(tmp_path):
    assert lock_path(tmp_path, "distill", "abc") == tmp_path / LOCKS_FOLDER / "distill" / "abc.lock"
    lock = key_lock(tmp_path, "distill", "abc")
    assert (tmp_path / ".locks" / "distill").is_dir() and not lock.is_locked
    assert not held_elsewhere(tmp_path, "distill", "never-locked")
    assert not (tmp_path / ".locks" / "distill" / "never-locked.lock").exists(), "asking creates nothing"


def test_a_held_lock_is_seen_by_another_lock_object_and_released_on_exit(tmp_path):
    with key_lock(tmp_path, "cell", "tiny__a"):
        assert held_elsewhere(tmp_path, "cell", "tiny__a")
        assert not held_elsewhere(tmp_path, "cell", "tiny__b"), "locks are per key"
        with pytest.raises(Timeout):
            key_lock(tmp_path, "cell", "tiny__a").acquire(timeout=0.05)
    assert not held_elsewhere(tmp_path, "cell", "tiny__a")
    with key_lock(tmp_path, "cell", "tiny__a"):  # free again
        pass


def test_a_lock_is_not_reentrant_across_threads_of_one_process(tmp_path):
    """thread_local=False: a stage job in a worker thread and the scheduler share one view of the lock."""
    import threading

    lock = key_lock(tmp_path, "distill", "k")
    seen = []
    with lock:
        thread = threading.Thread(target=lambda: seen.append(held_elsewhere(tmp_path, "distill", "k")))
        thread.start()
        thread.join()
    assert seen == [True]


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    code = ("import sys, time; from kdss_bench.store.key_lock import key_lock\n"
            "lock = key_lock(sys.argv[1], 'teacher', 'k1'); lock.acquire()\n"
            "print('held', flush=True); time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert process.stdout.readline().strip() == "held"
        assert held_elsewhere(tmp_path, "teacher", "k1")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while held_elsewhere(tmp_path, "teacher", "k1") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not held_elsewhere(tmp_path, "teacher", "k1")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()


def test_a_lock_file_that_cannot_be_opened_means_nobody_is_building(tmp_path):
    """As in a read-only results folder (which root can still write to, so this makes the open fail another way)."""
    lock_path(tmp_path, "distill", "k").mkdir(parents=True)  # a folder where the lock file would be
    assert held_elsewhere(tmp_path, "distill", "k") is False
