"""The dashboard's row order: a suite being run comes first, so a dashboard opened during a run shows it."""

from __future__ import annotations

import os

from kdss_bench.tui.live_feed import LiveFeed
from kdss_bench.tui.run_launcher import RunLauncher

from ..store.test_live_runs import CELL, append, dead_pid, started, write_runner


def test_the_suite_with_a_live_runner_comes_first_and_the_rest_stay_by_name(tmp_path):
    for suite in ("a_done", "b_done", "z_running"):
        append(tmp_path, CELL, started(), suite=suite)
    write_runner(tmp_path, dead_pid(), suite="a_done")
    write_runner(tmp_path, os.getpid(), suite="z_running")
    update = LiveFeed(tmp_path, RunLauncher(tmp_path)).poll()
    assert [suite for suite, _ in update.order] == ["z_running", "a_done", "b_done"]
    assert update.alive["z_running"] and not update.alive["a_done"]
