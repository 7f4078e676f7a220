"""--track tensorboard: the tiny suite's events, read back from the event files with TensorBoard's own reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.store.event_log import read_events

from ..conftest import TINY_SUITE

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

runner = CliRunner()
CELLS = ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
         "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]
EVERYTHING = {"scalars": 0, "images": 0, "tensors": 0}  # 0: keep every point (no reservoir sampling)


def run_tracked(folder: Path, *extra: str) -> Path:
    suite = folder / "suite.yaml"
    suite.write_text(TINY_SUITE)
    results = folder / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu",
                              "--track", "tensorboard", *extra])
    assert out.exit_code == 0, out.output
    assert f"tensorboard --logdir {results / 'tiny' / '_tensorboard'}" in out.stderr
    return results


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> Path:
    return run_tracked(tmp_path_factory.mktemp("tensorboard"))


def accumulator(results: Path, cell: str) -> EventAccumulator:
    folder = results / "tiny" / "_tensorboard" / cell
    assert any(folder.glob("events.out.tfevents.*")), f"no event file in {folder}"
    loaded = EventAccumulator(str(folder), size_guidance=EVERYTHING)
    loaded.Reload()
    return loaded


def loss_points(results: Path, cell: str) -> dict[str, list[tuple[int, float]]]:
    """Stage -> (step, loss) of the cell's progress events with a loss, from its events.jsonl."""
    events, _ = read_events(results / "tiny" / cell / "events.jsonl")
    points: dict[str, list[tuple[int, float]]] = {}
    for event in events:
        if event.kind == "progress" and "loss" in event.values:
            assert not event.values.get("phase"), "the tiny suite has no phase with a loss"
            points.setdefault(event.stage, []).append((event.step, event.values["loss"]))
    return points


def assert_matches_the_events(results: Path) -> None:
    for cell in CELLS:
        board = accumulator(results, cell)
        expected = loss_points(results, cell)
        assert expected, f"{cell} has no loss"
        for stage, points in expected.items():
            logged = board.Scalars(f"{stage}/loss")
            assert [(point.step, pytest.approx(point.value, rel=1e-6)) for point in logged] == points
        accuracy = json.loads((results / "tiny" / cell / "result.json").read_text())["accuracy"]
        assert board.Scalars("cell/accuracy")[-1].value == pytest.approx(accuracy, abs=1e-3)
        assert board.Scalars("finetune/accuracy")[-1].value == pytest.approx(accuracy, abs=1e-3)
        previews = board.Tags()["images"]
        if (results / "tiny" / cell / "preview.npz").exists():
            assert previews == ["distill/preview"]
            image = board.Images("distill/preview")[-1]
            assert image.width > 16 and image.height >= 16  # a grid of the 16-pixel synthetic images
            assert image.encoded_image_string.startswith(b"\x89PNG")
        else:
            assert previews == []


def test_every_stage_loss_accuracy_and_preview_is_in_the_cells_runs(tracked):
    assert sorted(p.name for p in (tracked / "tiny" / "_tensorboard").iterdir()) == CELLS
    assert_matches_the_events(tracked)
    distilling = accumulator(tracked, CELLS[0])
    assert {"teacher/loss", "distill/loss", "distill/lr", "pretrain/loss", "finetune/lr"} <= set(
        distilling.Tags()["scalars"])


def test_the_run_records_its_config_and_the_stage_starts_as_text(tracked):
    board = accumulator(tracked, CELLS[0])
    tensors = board.Tags()["tensors"]
    assert "config/text_summary" in tensors and "distill/start/text_summary" in tensors
    config = board.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    config_hash = json.loads((tracked / "tiny" / CELLS[0] / "result.json").read_text())["config_hash"]
    assert f"config_hash: {config_hash}" in config


def test_the_tensorboard_folder_is_not_a_cell(tracked):
    out = runner.invoke(app, ["table", "--results", str(tracked), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert sorted(f"{row['method']}__{row['target']}__seed0" for row in json.loads(out.stdout)) == CELLS


@pytest.mark.slow
def test_worker_processes_reach_the_tracker_through_the_tailed_events(tmp_path):
    results = run_tracked(tmp_path, "--executor", "local", "--workers", "2")
    assert_matches_the_events(results)
