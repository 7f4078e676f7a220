"""The ``kmeans`` baseline: per class, the real images nearest to k-means centroids.

The paper's "Kmeans" row is a real coreset selected with k-means; its exact procedure is not in
the released code and is NOT VERIFIED (brief section 4). This implementation, per source class c
with k_c = ``images_per_class(budget, C)[c]``:

1. features of the class's training images: the normalised pixels flattened (``features=pixels``)
   or the frozen SSL teacher's features of the normalised images (``features=teacher``);
2. k-means with k_c clusters: k-means++ seeding from a generator derived from the cell seed, then
   Lloyd iterations until no assignment changes or ``iterations`` steps;
3. for each centroid in turn, the nearest training image not already picked (distinct images).

The set holds those real images, normalised (network-input space), with their class labels.
"""

from __future__ import annotations

import time

import torch

from kdss_bench.errors import DataError
from kdss_bench.methods.class_budget import images_per_class
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.kmeans_clustering import lloyd_kmeans, nearest_distinct_points
from kdss_bench.methods.kmeans_coreset_settings import KmeansCoresetSettings
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.teacher.features import teacher_features
from kdss_bench.train.seeding import derive_seed

NAME = "kmeans"


def distill(ctx: DistillContext) -> DistilledSet:
    settings: KmeansCoresetSettings = ctx.settings  # type: ignore[assignment]
    ctx.check_settings(NAME)
    started = time.perf_counter()
    source = ctx.source
    per_class = images_per_class(ctx.budget, source.num_classes)
    generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "kmeans_init"))
    picked, steps, inertia, unconverged = [], 0, 0.0, 0
    for c, k in enumerate(per_class):
        members = torch.nonzero(source.y_train == c, as_tuple=False).flatten()
        if members.numel() < k:
            raise DataError(f"class {c} of '{source.name}' has {members.numel()} training images but kmeans "
                            f"needs {k}; lower the suite's budget")
        features = _features(ctx, settings, members)
        result = lloyd_kmeans(features, k, generator, max_iterations=settings.iterations)
        picked.append(members[nearest_distinct_points(features, result.centroids)])
        steps += result.iterations
        inertia += result.inertia
        unconverged += int(not result.converged)
        ctx.emit("progress", step=c + 1, total=len(per_class), iterations=result.iterations,
                 inertia=result.inertia / members.numel())
    indices = torch.cat(picked)
    images = normalized_train_images(source, indices).float()
    labels = source.y_train[indices].to(torch.int64).clone()
    loss = {"inertia_per_image": inertia / max(1, int(source.y_train.numel())),
            "classes_not_converged": unconverged}
    manifest = common_manifest(ctx, NAME, input_space="normalized",
                               wall_time_s=time.perf_counter() - started, steps=steps, loss=loss)
    manifest["images_per_class"] = per_class
    manifest["source_indices"] = indices.tolist()
    if settings.features == "teacher":
        manifest["teacher"] = ctx.teacher_id
    return DistilledSet(images=images, targets=labels, target_kind="hard", manifest=manifest)


def _features(ctx: DistillContext, settings: KmeansCoresetSettings, members: torch.Tensor) -> torch.Tensor:
    """(n_c, D) float32 features of one class's training images, on ``ctx.device``."""
    images = normalized_train_images(ctx.source, members, ctx.device)
    if settings.features == "teacher":
        return teacher_features(ctx.teacher, images).float()
    return images.flatten(1)

