"""``kdss-bench bench finetune``: fine-tuning throughput of S seeds, one after another vs batched."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kdss_bench.bench.krr_step import random_source
from kdss_bench.train.finetune import FinetuneRecipe, finetune_model
from kdss_bench.train.finetune_batched import train_stacked
from kdss_bench.train.transfer import build_transfer_model


def batched_finetune_throughput(
    model_name: str,
    *,
    seeds: Sequence[int],
    batch_size: int,
    iterations: int,
    resolution: int,
    num_classes: int,
    device: torch.device | str,
    warmup_iterations: int = 1,
) -> dict:
    """Training images/s of S seeds fine-tuned one after another vs as one batched model.

    Runs on random images (nothing is downloaded) and times only the training loops, through
    the real code paths: ``finetune_model`` per seed (its ``images_per_s`` excludes its
    evaluation on a tiny test split) and the batched loop without evaluation. Each side first
    runs ``warmup_iterations`` untimed steps so one-off costs (allocator, kernel selection) are
    not counted. Both figures count every seed's images.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("batched_finetune_throughput needs at least one seed")
    if iterations < 1:
        raise ValueError(f"batched_finetune_throughput needs iterations >= 1, got {iterations}")
    device = torch.device(device)
    # Two full batches per pass: every timed batch has batch_size images.
    target = random_source(2 * batch_size, resolution, num_classes=num_classes)
    recipe = FinetuneRecipe(iterations=iterations, batch_size=batch_size)

    def fresh_models() -> list[nn.Module]:
        in_shape = (3, resolution, resolution)
        return [
            build_transfer_model(model_name, None, num_classes=num_classes, in_shape=in_shape, seed=s) for s in seeds
        ]

    if warmup_iterations > 0:
        warm = FinetuneRecipe(iterations=warmup_iterations, batch_size=batch_size)
        finetune_model(fresh_models()[0], target, warm, seed=seeds[0], device=device)
        train_stacked(fresh_models(), target, warm, seeds=seeds, device=device, emit=None)

    sequential_images, sequential_s = 0, 0.0
    for model, seed in zip(fresh_models(), seeds, strict=True):
        result = finetune_model(model, target, recipe, seed=seed, device=device)
        images = iterations * batch_size
        sequential_images += images
        sequential_s += images / result.images_per_s
    run = train_stacked(fresh_models(), target, recipe, seeds=seeds, device=device, emit=None)
    sequential = sequential_images / sequential_s
    batched = run.images / run.elapsed
    return {
        "model": model_name,
        "device": str(device),
        "seeds": len(seeds),
        "batch_size": batch_size,
        "iterations": iterations,
        "resolution": resolution,
        "sequential_images_per_s": sequential,
        "batched_images_per_s": batched,
        "speedup": batched / sequential,
    }
