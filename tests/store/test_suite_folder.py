"""The _suite folder: one run record per run, written atomically, read leniently, kept after the run."""

from __future__ import annotations

import os
import socket

import pytest

from kdss_bench.store.suite_folder import SuiteFolder


def test_a_run_record_round_trips_and_ends_with_its_state(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    record = folder.start_run([{"cell": "a__b__seed0", "method": "a", "target": "b", "seed": 0}],
                              suite_path="/x/tiny.yaml", executor="local", workers=2, started_at=12.5)
    assert folder.path == tmp_path / "tiny" / "_suite"
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    assert record["state"] == "running" and record["executor"] == "local" and record["workers"] == 2
    assert folder.runs() == [record] and folder.latest_run() == record
    ended = folder.end_run(record, "finished", finished=1)
    assert folder.runs() == [ended] and ended["state"] == "finished" and ended["counts"] == {"finished": 1}
    assert isinstance(ended["ended_at"], float)
    with pytest.raises(ValueError):
        folder.end_run(record, "running")


def test_two_runs_keep_two_records_oldest_first(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    first = folder.start_run([], suite_path=None, executor="inline", workers=None, started_at=10.0)
    folder.run_path("later").write_text(
        '{"run_id": "later", "pid": 1, "host": "h", "started_at": 20.0, "state": "running", "cells": []}')
    assert [run["run_id"] for run in folder.runs()] == [first["run_id"], "later"]
    assert folder.latest_run()["run_id"] == "later"


def test_missing_or_corrupt_records_read_as_nothing(tmp_path):
    folder = SuiteFolder(tmp_path, "tiny")
    assert folder.runs() == [] and folder.latest_run() is None
    folder.runs_path.mkdir(parents=True)
    (folder.runs_path / "torn.json").write_text('{"run_id": "ti')
    (folder.runs_path / "list.json").write_text("[1, 2]")
    (folder.runs_path / "noid.json").write_text('{"pid": 3}')
    assert folder.runs() == []
