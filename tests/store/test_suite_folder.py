"""The _suite folder: plan.json and runner.json written atomically, read leniently."""

from __future__ import annotations

import os
import socket

from kdss_bench.store.suite_folder import SuiteFolder


def test_plan_and_runner_round_trip(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    folder.write_plan([{"cell": "a__b__seed0", "method": "a", "target": "b", "seed": 0}],
                      suite_path="/x/tiny.yaml", started_at=12.5)
    folder.write_runner(suite_path="/x/tiny.yaml", started_at=12.5)
    assert folder.path == tmp_path / "tiny" / "_suite"
    assert folder.read_plan() == {"suite": "tiny", "suite_path": "/x/tiny.yaml", "started_at": 12.5,
                                  "cells": [{"cell": "a__b__seed0", "method": "a", "target": "b", "seed": 0}]}
    runner = folder.read_runner()
    assert runner == {"pid": os.getpid(), "host": socket.gethostname(), "started_at": 12.5,
                      "suite_path": "/x/tiny.yaml", "results_root": str(tmp_path.resolve())}
    folder.remove_runner()
    assert folder.read_runner() is None and not folder.runner_path.exists()
    folder.remove_runner()  # already gone: no error


def test_a_runner_file_of_another_process_is_left_alone(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    folder.path.mkdir(parents=True)
    folder.runner_path.write_text('{"pid": 1, "host": "h", "started_at": 0}')
    folder.remove_runner()
    assert folder.read_runner()["pid"] == 1


def test_unreadable_files_read_as_none(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    assert folder.read_plan() is None
    folder.path.mkdir(parents=True)
    folder.plan_path.write_text('{"suite": "ti')
    folder.runner_path.write_text("[1, 2]")
    assert folder.read_plan() is None and folder.read_runner() is None
