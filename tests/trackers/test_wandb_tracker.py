"""--track wandb in offline mode: one run per cell, read back from the runs' ``.wandb`` transaction logs.

W&B 0.31 has no reader of its own for these files (``wandb.sdk.internal.datastore`` is gone), so the test
reads them: the LevelDB log format (32 KiB blocks, records with a 7-byte header, FULL/FIRST/MIDDLE/LAST
pieces) holding ``wandb_internal_pb2.Record`` messages. Nothing reaches the network: offline mode, no
git, no system metrics, and every W&B folder under the test's own.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kdss_bench.cli import app

from ..conftest import TINY_SUITE

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

runner = CliRunner()
CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def wandb_records(path: Path):
    """The ``Record`` messages of one ``.wandb`` file, in order."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    position, pieces = 7, []
    while position + 7 <= len(data):
        left = BLOCK - position % BLOCK
        if left < 7:  # a block's tail too short for a header is padding
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if kind == 0 and length == 0:
            position += left
            continue
        pieces.append(data[position + 7:position + 7 + length])
        position += 7 + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(pieces))
            pieces = []
            yield record


class OfflineRun:
    """What one offline run holds: its name, project, config, history rows and final summary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.history: list[dict] = []
        self.summary: dict = {}
        self.config: dict = {}
        self.exit_code = None
        for record in wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                self.name, self.project, self.group = record.run.display_name, record.run.project, record.run.run_group
                self.config.update({item.key: json.loads(item.value_json) for item in record.run.config.update})
            elif kind == "config":
                self.config.update({item.key: json.loads(item.value_json) for item in record.config.update})
            elif kind == "history":
                self.history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                     for item in record.history.item})
            elif kind == "summary":
                self.summary.update({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                     for item in record.summary.update})
            elif kind == "exit":
                self.exit_code = record.exit.exit_code

    def series(self, metric: str) -> list:
        return [row[metric] for row in self.history if metric in row]


def offline_runs(folder: Path) -> dict[str, OfflineRun]:
    runs = [OfflineRun(path) for path in sorted(folder.glob("wandb/offline-run-*/run-*.wandb"))]
    return {run.name: run for run in runs}


@pytest.fixture
def offline_wandb(tmp_path, monkeypatch):
    """W&B offline, quiet, and writing only under ``tmp_path`` (no git, code or system-metrics probing)."""
    for key in ("WANDB_API_KEY", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_DIR", "WANDB_MODE", "WANDB_SILENT"):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "wandb-home"
    for key, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
                       "WANDB_DISABLE_CODE": "true", "WANDB_X_DISABLE_STATS": "true",
                       "WANDB_X_DISABLE_MACHINE_INFO": "true", "WANDB_CONFIG_DIR": str(home / "config"),
                       "WANDB_CACHE_DIR": str(home / "cache"), "WANDB_DATA_DIR": str(home / "data"),
                       "WANDB_ARTIFACT_DIR": str(home / "artifacts")}.items():
        monkeypatch.setenv(key, value)
    yield tmp_path
    wandb.teardown()  # stops the wandb-core service this test started


def run_tracked(folder: Path, *extra: str):
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    results = folder / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu",
                              "--track", "wandb", *extra])
    assert out.exit_code == 0, out.output
    assert "warning" not in out.stderr, out.stderr
    return results, out


def test_each_cell_is_one_offline_run_with_its_config_and_metrics(offline_wandb, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(offline_wandb / "wandb-dir"))
    monkeypatch.setenv("WANDB_PROJECT", "kdss-test")
    results, _ = run_tracked(offline_wandb)
    assert not (results / "tiny" / "_wandb").exists()  # $WANDB_DIR wins
    runs = offline_runs(offline_wandb / "wandb-dir")
    assert sorted(runs) == CELLS
    for cell, run in runs.items():
        folder = results / "tiny" / cell
        result = json.loads((folder / "result.json").read_text())
        assert run.project == "kdss-test" and run.group == "tiny" and run.exit_code == 0
        assert run.config["config_hash"] == result["config_hash"] and run.config["cell"] == cell
        config = {key: value for key, value in run.config.items() if key != "_wandb"}
        assert config == yaml.safe_load((folder / "config.yaml").read_text())  # the cell's resolved config
        assert run.series("finetune/accuracy") == [pytest.approx(result["accuracy"], abs=1e-3)]
        assert run.series("cell/accuracy") == [pytest.approx(result["accuracy"], abs=1e-3)]
        assert run.summary["accuracy"] == pytest.approx(result["accuracy"], abs=1e-3)
        assert run.summary["outcome"] == "finished"
        assert set(run.series("finetune/step")) == {4}  # each stage has its own x axis: its events' steps
        has_preview = (folder / "preview.npz").exists()
        assert bool(run.series("distill/preview/_type")) == has_preview
    distilling = runs[CELLS[0]]
    assert len(distilling.series("distill/loss")) == 4 and distilling.series("distill/step")[:4] == [1, 2, 3, 4]
    assert distilling.series("distill/preview/_type")[0] == "image-file"
    assert "distill/start" in distilling.summary and "teacher/loss" in distilling.summary


def test_cli_options_choose_project_and_mode_and_files_go_to_the_results(offline_wandb, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")  # --wandb-mode wins over the environment
    results, out = run_tracked(offline_wandb, "--methods", "no_pretrain", "--wandb-project", "from-cli",
                               "--wandb-mode", "offline")
    folder = results / "tiny" / "_wandb"
    assert f"W&B project from-cli (offline; run files under {folder})" in out.stderr
    runs = offline_runs(folder)
    assert sorted(runs) == CELLS[2:]
    assert {run.project for run in runs.values()} == {"from-cli"}


def test_a_bad_mode_is_one_line_before_the_run(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(TINY_SUITE)
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--track", "wandb",
                              "--wandb-mode", "sometimes"])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "--wandb-mode sometimes" in out.stderr and "online, offline, disabled" in out.stderr
    assert not (tmp_path / "r").exists()


def test_online_without_a_login_is_one_line_before_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc with a key
    monkeypatch.setenv("NETRC", str(tmp_path / "home" / ".netrc"))
    suite = tmp_path / "suite.yaml"
    suite.write_text(TINY_SUITE)
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--track", "wandb"])
    assert out.exit_code == 2, out.output
    error = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "wandb login" in error[0] and "--wandb-mode offline" in error[0]
    assert not (tmp_path / "r" / "tiny").exists()
