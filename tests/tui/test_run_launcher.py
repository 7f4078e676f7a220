"""The launcher: log files, exit-status wording, and SIGINT then SIGTERM for a run that ignores SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kdss_bench.store.suite_folder import SuiteFolder
from kdss_bench.tui.run_launcher import Launch, RunLauncher, suite_name_of

STUBBORN = """\
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # a run that does not stop on SIGINT
print("started", sys.argv[1:], flush=True)
time.sleep(60)
"""


def stubborn_python(tmp_path: Path) -> str:
    """An executable that plays ``python``: whatever the arguments, it ignores SIGINT and sleeps."""
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_command_runs_the_cli_on_the_suite_and_cells(tmp_path):
    launcher = RunLauncher(tmp_path / "results", python="py")
    assert launcher.command(Path("s.yaml"), ["a", "b"]) == [
        "py", "-m", "kdss_bench", "run", "s.yaml", "--results", str(tmp_path / "results"), "--cells", "a,b"]


def test_suite_name_comes_from_the_yaml_or_the_file_name(tmp_path):
    named = tmp_path / "x.yaml"
    named.write_text("name: cifar10-transfer\nseeds: [0]\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    assert suite_name_of(named) == "cifar10-transfer"
    assert suite_name_of(broken) == "broken"


def test_cancel_sends_sigint_then_sigterm_after_the_grace_period(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\n")
    launcher = RunLauncher(tmp_path / "results", python=stubborn_python(tmp_path), grace_s=0.5)
    launch = launcher.launch(suite)
    assert launch.log_path.parent == SuiteFolder(tmp_path / "results", "s").path
    assert launch.log_path.name.startswith("launch-") and launch.log_path.suffix == ".log"
    wait_until(lambda: "started" in launch.log_tail())
    assert "'run', '" + str(suite) + "'" in launch.log_tail()
    assert os.getpgid(launch.pid) == launch.pid  # its own process group: a cancel reaches all of it

    assert "SIGINT sent" in launcher.cancel("s")
    assert launcher.poll() == [] and launch.running  # SIGINT ignored, grace not over
    time.sleep(0.6)
    launcher.poll()  # escalates
    wait_until(lambda: launcher.poll() != [] or not launch.running)
    assert launch.returncode == -signal.SIGTERM
    assert launch.outcome() == "cancelled"
    assert launcher.running("s") is None


@pytest.mark.parametrize(("exit_code", "words"), [(0, "finished"), (1, "finished with failed cells"),
                                                  (2, "could not start"), (130, "cancelled"),
                                                  (-9, "crashed (exit status -9)")])
def test_exit_status_in_words(tmp_path, exit_code, words):
    end = f"os.kill(os.getpid(), {-exit_code})" if exit_code < 0 else f"sys.exit({exit_code})"
    process = subprocess.Popen([sys.executable, "-c", f"import os, sys; {end}"])
    launch = Launch("s", tmp_path / "s.yaml", (), tmp_path / "log", process, time.time())
    launch.returncode = process.wait()
    assert launch.returncode == exit_code
    assert launch.outcome() == words


def test_cancel_without_a_run_says_so(tmp_path):
    assert "no run of s to cancel" in RunLauncher(tmp_path).cancel("s")
