"""Runner liveness: live, exited, zombie, reused pid, and another host's runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from kdss_bench.store.process_alive import pid_alive, runner_alive


def runner(pid, **extra):
    return {"pid": pid, "host": socket.gethostname(), "started_at": time.time(), **extra}


def test_this_process_is_alive_and_an_exited_one_is_not():
    assert runner_alive(runner(os.getpid()))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not runner_alive(runner(child.pid))


def test_an_unreaped_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.time() + 30
        while pid_alive(child.pid) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(child.pid, 0)  # still exists (a zombie: nobody waited for it) ...
        assert not pid_alive(child.pid)  # ... but is not alive
    finally:
        child.wait()


def test_a_pid_that_started_after_the_runner_file_is_another_program():
    assert not pid_alive(os.getpid(), started_before=time.time() - 3600)
    assert pid_alive(os.getpid(), started_before=time.time())


def test_missing_or_malformed_runner_and_other_hosts():
    assert not runner_alive(None)
    assert not runner_alive({"pid": "12"}) and not runner_alive({"pid": True}) and not runner_alive({"pid": -1})
    assert runner_alive({"pid": 999_999_999, "host": "another-machine", "started_at": 0})
