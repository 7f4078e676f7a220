"""What a run leaves for watchers: its run record (running, then finished), previews, and --cells selection."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest

from kdss_bench.config import load_suite
from kdss_bench.errors import ConfigError
from kdss_bench.runner.suite_runner import run_suite
from kdss_bench.store.event_log import read_events
from kdss_bench.store.preview_file import read_preview
from kdss_bench.store.result_index import ResultIndex
from kdss_bench.store.run_dir import iter_run_dirs
from kdss_bench.store.suite_folder import SuiteFolder

from ..conftest import TINY_SUITE

CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """One tiny run whose listener reads the _suite files and the preview while they are live."""
    folder = tmp_path_factory.mktemp("watched")
    path = folder / "suite.yaml"
    path.write_text(TINY_SUITE)
    results = folder / "results"
    seen = {"runs": [], "previews": []}

    def listener(event):
        if event.stage == "cell" and event.kind == "start":
            seen["runs"].append(SuiteFolder(results, "tiny").runs())
        if event.stage == "distill" and event.kind == "progress":
            preview = read_preview(results / event.run / "preview.npz")
            seen["previews"].append((event.step, None if preview is None else preview[1:]))

    outcome = run_suite(load_suite(path), results_root=results, device="cpu", listener=listener)
    return path, results, outcome, seen


def test_the_run_record_names_this_process_while_running_and_its_end_after(watched):
    path, results, outcome, seen = watched
    assert sorted(outcome.finished) == CELLS and len(seen["runs"]) == 4
    assert all(len(runs) == 1 for runs in seen["runs"]), "one record per run"
    record = seen["runs"][0][0]
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    assert record["suite_path"] == str(path.resolve()) and record["results_root"] == str(results.resolve())
    assert isinstance(record["started_at"], float) and record["state"] == "running"
    assert record["executor"] == "inline" and record["run_id"] == outcome.run_id
    (ended,) = SuiteFolder(results, "tiny").runs()
    assert ended["state"] == "finished" and ended["counts"] == {"finished": 4, "skipped": 0, "failed": 0}


def test_the_record_lists_the_cells_in_run_order_with_their_config_hash(watched):
    path, results, _, seen = watched
    (record,) = SuiteFolder(results, "tiny").runs()
    assert [c["cell"] for c in record["cells"]] == CELLS
    assert (record["cells"][1]["method"], record["cells"][1]["target"], record["cells"][1]["seed"]) == (
        "krr_st", "textures3", 0)
    for entry in record["cells"]:
        result = json.loads((results / "tiny" / entry["cell"] / "result.json").read_text())
        assert entry["config_hash"] == result["config_hash"]
        events, _ = read_events(results / "tiny" / entry["cell"] / "events.jsonl")
        starts = [e for e in events if (e.stage, e.kind) == ("cell", "start")]
        assert len(starts) == 1 and starts[0].values["run_id"] == record["run_id"]


def test_the_suite_folder_is_not_a_cell_for_the_store(watched):
    _, results, _, _ = watched
    assert sorted(run.cell for run in iter_run_dirs(results)) == CELLS
    with ResultIndex(results) as index:
        assert index.rebuild() == 4


def test_distillation_writes_previews_while_it_runs_and_every_distilled_cell_gets_one(watched):
    _, results, _, seen = watched
    during = [info for _, info in seen["previews"] if info is not None]
    assert during and during[0][1] == 4, "previews appear during the distillation (step, total 4)"
    for cell in CELLS[:2]:  # the second cell reused the cached distilled set and still got a preview
        images, step, total = read_preview(results / "tiny" / cell / "preview.npz")
        assert images.shape == (12, 16, 16, 3) and images.dtype == np.uint8 and step == total == 4
        assert images.reshape(12, -1).max(axis=1).tolist() == [255] * 12
    for cell in CELLS[2:]:  # no distillation, no preview
        assert not (results / "tiny" / cell / "preview.npz").exists()


def test_only_cells_runs_those_cells_and_plans_only_them(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"
    outcome = run_suite(suite, results_root=results, device="cpu", only_cells=[CELLS[3], CELLS[2]])
    assert outcome.finished == [CELLS[2], CELLS[3]], "grid order, whatever order they were named in"
    assert sorted(p.name for p in (results / "tiny").iterdir()) == ["_suite", *CELLS[2:]]
    (record,) = SuiteFolder(results, "tiny").runs()
    assert [c["cell"] for c in record["cells"]] == CELLS[2:]


def test_unknown_cell_id_fails_before_anything_is_written(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"
    with pytest.raises(ConfigError, match="'krr_st__nope__seed0' is not in suite 'tiny'") as error:
        run_suite(suite, results_root=results, device="cpu", only_cells=["krr_st__nope__seed0"])
    assert all(cell in str(error.value) for cell in CELLS) and "\n" not in str(error.value)
    assert not results.exists()


def test_an_interrupted_run_records_cancelled_in_the_cell_and_its_record(write_suite, tmp_path):
    suite = load_suite(write_suite())
    results = tmp_path / "results"

    def interrupt_in_distillation(event):
        if event.stage == "distill" and event.kind == "progress":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, results_root=results, device="cpu", listener=interrupt_in_distillation)
    folder = results / "tiny" / CELLS[0]
    events, _ = read_events(folder / "events.jsonl")
    assert (events[-1].stage, events[-1].kind, events[-1].values) == ("cell", "error", {"message": "cancelled"})
    assert not (folder / "result.json").exists()
    (record,) = SuiteFolder(results, "tiny").runs()
    assert record["state"] == "cancelled" and record["ended_at"] is not None
