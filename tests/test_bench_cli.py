"""``kdss-bench bench``: figures come out as text or JSON; bad options are one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app

runner = CliRunner()
TINY_STEP = ["bench", "krr-step", "--m", "4", "--n", "8", "--steps", "2", "--warmup", "0", "--model",
             "convnet_8_16_bn", "--teacher", "convnet_8_16_bn", "--resolution", "16", "--source-images", "16"]


def test_krr_step_json_has_the_documented_keys():
    result = runner.invoke(app, [*TINY_STEP, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["median_s"] > 0 and report["steps"] == 2 and report["device"].startswith("cpu")
    assert report["config"]["m"] == 4 and report["config"]["n"] == 8 and report["config"]["mode"] == "exact"
    assert report["projected_cifar100_s"] == pytest.approx(report["median_s"] * 160_000)


def test_krr_step_fast_mode_reports_the_cache_build_once():
    result = runner.invoke(app, [*TINY_STEP, "--mode", "fast", "--teacher-views", "2", "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    assert "outer step (fast, bf16)" in result.output
    assert "teacher-target cache (2 views x 16 images)" in result.output and "/step over 2 steps" in result.output


@pytest.mark.parametrize(("args", "fragment"), [
    (["--m", "0"], "--m 0: must be >= 1"),
    (["--model", "convnet_9x"], "convnet_9x"),
    (["--device", "cuda"], None),
    (["--warmup", "-1"], "--warmup -1"),
])
def test_bad_options_are_one_line_errors(args, fragment):
    import torch

    if args[0] == "--device":
        if torch.cuda.is_available():
            pytest.skip("a CUDA device is visible")
        fragment = "no CUDA device"
    result = runner.invoke(app, [*TINY_STEP, *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]


def test_hot_path_table_rejects_nonpositive_sizes():
    result = runner.invoke(app, ["bench", "--m", "0"])
    assert result.exit_code == 2 and "must be positive" in result.output
