"""kdss_bench.bench.finetune_throughput: both loops are timed through the real code paths, and the rates
follow from the images they trained on and the time they took."""

from __future__ import annotations

import math
import time

import pytest

from kdss_bench.bench import finetune_throughput
from kdss_bench.bench.finetune_throughput import batched_finetune_throughput


@pytest.fixture
def recorded(monkeypatch):
    """The real fine-tuning loops, with what each call returned kept for the test (a spy, not a stand-in)."""
    calls = {"sequential": [], "batched": []}
    real_sequential, real_batched = finetune_throughput.finetune_model, finetune_throughput.train_stacked

    def sequential(model, target, recipe, **kwargs):
        result = real_sequential(model, target, recipe, **kwargs)
        calls["sequential"].append((recipe, result))
        return result

    def batched(models, target, recipe, **kwargs):
        run = real_batched(models, target, recipe, **kwargs)
        calls["batched"].append((recipe, len(models), run))
        return run

    monkeypatch.setattr(finetune_throughput, "finetune_model", sequential)
    monkeypatch.setattr(finetune_throughput, "train_stacked", batched)
    return calls


def test_the_rates_are_the_images_trained_over_the_time_the_loops_took(recorded):
    started = time.perf_counter()
    report = batched_finetune_throughput("convnet_8_bn", seeds=[0, 1, 2], batch_size=4, iterations=3, resolution=8,
                                         num_classes=3, device="cpu", warmup_iterations=1)
    wall = time.perf_counter() - started
    assert {k: report[k] for k in ("model", "device", "seeds", "batch_size", "iterations", "resolution")} == {
        "model": "convnet_8_bn", "device": "cpu", "seeds": 3, "batch_size": 4, "iterations": 3, "resolution": 8}

    # one warm-up call of each loop (one iteration), then the timed ones
    warm, *timed = recorded["sequential"]
    assert warm[0].iterations == 1 and [recipe.iterations for recipe, _ in timed] == [3, 3, 3]
    (warm_recipe, _, _), (recipe, models, run) = recorded["batched"]
    assert warm_recipe.iterations == 1 and recipe.iterations == 3 and models == 3

    images = 3 * 3 * 4  # seeds x iterations x batch size, on both sides
    assert run.images == images, "the batched loop counts every seed's images"
    assert report["batched_images_per_s"] == pytest.approx(images / run.elapsed)
    sequential_seconds = sum(3 * 4 / result.images_per_s for _, result in timed)
    assert report["sequential_images_per_s"] == pytest.approx(images / sequential_seconds)
    assert report["speedup"] == pytest.approx(report["batched_images_per_s"] / report["sequential_images_per_s"])
    # the timed loops are part of this call: neither rate can be below the images over the whole call
    assert report["batched_images_per_s"] >= images / wall and report["sequential_images_per_s"] >= images / wall
    assert sequential_seconds + run.elapsed <= wall
    assert all(math.isfinite(report[k]) for k in ("sequential_images_per_s", "batched_images_per_s", "speedup"))


def test_without_warm_up_only_the_timed_loops_run(recorded):
    batched_finetune_throughput("convnet_8_bn", seeds=[5], batch_size=2, iterations=1, resolution=8, num_classes=2,
                                device="cpu", warmup_iterations=0)
    assert len(recorded["sequential"]) == 1 and len(recorded["batched"]) == 1


def test_empty_measurements_are_refused():
    with pytest.raises(ValueError, match="iterations >= 1"):
        batched_finetune_throughput(
            "convnet_8_bn", seeds=[0], batch_size=4, iterations=0, resolution=8, num_classes=3, device="cpu"
        )
    with pytest.raises(ValueError, match="at least one seed"):
        batched_finetune_throughput(
            "convnet_8_bn", seeds=[], batch_size=4, iterations=1, resolution=8, num_classes=3, device="cpu"
        )
