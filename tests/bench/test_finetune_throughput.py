"""The fine-tuning throughput benchmark times both loops and refuses an empty measurement."""

from __future__ import annotations

import math

import pytest

from kdss_bench.bench.finetune_throughput import batched_finetune_throughput


def test_throughput_helper_reports_both_loops():
    report = batched_finetune_throughput(
        "convnet_8_bn", seeds=[0, 1], batch_size=4, iterations=2, resolution=8, num_classes=3, device="cpu"
    )
    assert report["seeds"] == 2
    for key in ("sequential_images_per_s", "batched_images_per_s", "speedup"):
        assert report[key] > 0 and math.isfinite(report[key])
    with pytest.raises(ValueError, match="iterations >= 1"):
        batched_finetune_throughput(
            "convnet_8_bn", seeds=[0], batch_size=4, iterations=0, resolution=8, num_classes=3, device="cpu"
        )
