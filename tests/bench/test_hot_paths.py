"""Every hot-path case runs and gives sane output; pytest-benchmark prints its timings (tiny sizes here)."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.bench.hot_paths import HotPathSizes, hot_path_cases, run_hot_paths

TINY = HotPathSizes(m=8, n=16, solve_m=(32, 64), feature_dim=64, target_dim=8, finetune_batch=8,
                    model="convnet_8_16_bn", teacher="convnet_8_16_bn", resolution=16, source_images=32)


@pytest.fixture(scope="module")
def cases():
    torch.manual_seed(0)
    return {case.name + " " + case.size: case for case in hot_path_cases(TINY, torch.device("cpu"))}


def test_the_table_covers_every_hot_path_the_issue_names(cases):
    names = " | ".join(cases)
    for path in ("outer step, exact", "outer step, fast", "pool update", "teacher forward", "augmentation batch",
                 "KRR head + backward, cholesky m=32", "KRR head + backward, lu m=64", "fine-tuning step",
                 "pre-training epoch"):
        assert path in names


@pytest.mark.parametrize("name", [
    "outer step, exact m=8 n=16", "outer step, fast m=8 n=16", "pool update (one online step) m=8",
    "teacher forward n=16 convnet_8_16_bn", "augmentation batch n=16",
    "KRR head + backward, cholesky m=64 p=64", "KRR head + backward, lu m=64 p=64",
    "fine-tuning step batch=8 convnet_8_16_bn", "pre-training epoch m=8 batch=256 convnet_8_16_bn",
])
def test_hot_path(benchmark, cases, name):
    result = benchmark.pedantic(cases[name].call, rounds=3, warmup_rounds=1)
    values = result if isinstance(result, tuple) else (result,)
    for value in values:
        if isinstance(value, torch.Tensor):
            assert torch.isfinite(value).all()
        elif isinstance(value, float):
            assert value == value and value >= 0  # a loss or a learning rate, not nan


def test_run_hot_paths_reports_a_row_per_case():
    rows = []
    returned = run_hot_paths(TINY, repeats=1, warmup=0, on_row=rows.append)
    assert returned == rows and len(rows) == 11
    for row in rows:
        assert row["median_s"] > 0 and row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["items_per_s"] > 0
