"""The ``random`` baseline: a class-balanced random subset of the real source training images.

The paper's "Random" row (brief section 4): real images with their class labels, pre-trained
like the other supervised baselines (cross-entropy + DSA). Stored normalised (network-input
space) as the baselines' official code stores its sets.
"""

from __future__ import annotations

import time

import torch

from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.train.seeding import derive_seed

NAME = "random"


def distill(ctx: DistillContext) -> DistilledSet:
    ctx.check_settings(NAME)
    started = time.perf_counter()
    source = ctx.source
    per_class = images_per_class(ctx.budget, source.num_classes)
    generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "random_subset"))
    indices = class_balanced_indices(source.y_train, per_class, generator)
    images = normalized_train_images(source, indices).float()
    labels = source.y_train[indices].to(torch.int64).clone()
    ctx.emit("progress", step=1, total=1, images=int(indices.numel()))
    manifest = common_manifest(ctx, NAME, input_space="normalized",
                               wall_time_s=time.perf_counter() - started, steps=0, loss=None)
    manifest["images_per_class"] = per_class
    manifest["source_indices"] = indices.tolist()
    return DistilledSet(images=images, targets=labels, target_kind="hard", manifest=manifest)

