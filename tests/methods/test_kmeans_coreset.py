"""The ``kmeans`` baseline: real images nearest to per-class k-means centroids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.config_reader import ConfigReader
from kdss_bench.data.image_set import build_image_set
from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import kmeans_coreset
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.kmeans_clustering import lloyd_kmeans, nearest_distinct_points
from kdss_bench.methods.kmeans_coreset_settings import KmeansCoresetSettings
from kdss_bench.methods.settings import read_settings
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.train.augment import normalize, to_float

LEVELS = {0: (20, 120, 220), 1: (50, 150, 240)}
OFFSETS = (-6, 1, 2, 3)  # the cluster mean is the level itself; the image at level + 1 is nearest to it


@pytest.fixture(scope="module")
def clusters():
    """Two classes of flat grey 4x4 images in three well separated brightness clusters each."""
    images, labels = [], []
    for label, levels in LEVELS.items():
        for level in levels:
            for offset in OFFSETS:
                images.append(np.full((4, 4), level + offset, dtype=np.uint8))
                labels.append(label)
    order = np.random.default_rng(0).permutation(len(images))
    x = np.stack(images)[order]
    y = np.array(labels)[order]
    return build_image_set("clusters", x, y, x[:2], y[:2], ("a", "b"), resolution=4)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(source, budget, settings=KmeansCoresetSettings(), teacher=None, seed=0):
    return DistillContext(source=source, teacher=teacher, budget=budget, settings=settings,
                          model="convnet_8_16_bn", seed=seed, device=torch.device("cpu"), teacher_id="tiny-teacher")


def test_picks_the_image_nearest_to_each_cluster_centre(clusters):
    result = kmeans_coreset.distill(make_ctx(clusters, budget=6))
    chosen = clusters.x_train[torch.tensor(result.manifest["source_indices"])]
    grey = chosen[:, 0, 0, 0].tolist()
    assert sorted(grey[:3]) == [level + 1 for level in LEVELS[0]]
    assert sorted(grey[3:]) == [level + 1 for level in LEVELS[1]]
    assert result.targets.tolist() == [0, 0, 0, 1, 1, 1]


def test_returns_balanced_real_normalised_images_with_their_labels(digits):
    result = kmeans_coreset.distill(make_ctx(digits, budget=23, settings=KmeansCoresetSettings(iterations=20)))
    assert result.target_kind == "hard" and result.images.shape == (23, 3, 16, 16)
    assert torch.isfinite(result.images).all() and result.targets.dtype == torch.int64
    assert torch.bincount(result.targets, minlength=10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    indices = torch.tensor(result.manifest["source_indices"])
    assert indices.unique().numel() == 23
    torch.testing.assert_close(result.images, normalize(to_float(digits.x_train[indices]), digits.mean, digits.std),
                               rtol=0, atol=0)
    assert torch.equal(result.targets, digits.y_train[indices])
    manifest = result.manifest
    assert manifest["method"] == "kmeans" and manifest["budget"] == 23 and manifest["input_space"] == "normalized"
    assert manifest["cost"]["steps"] >= 10 and manifest["loss"]["inertia_per_image"] > 0


def test_teacher_features_need_a_teacher_and_change_the_choice(digits):
    settings = KmeansCoresetSettings(features="teacher", iterations=20)
    with pytest.raises(ConfigError, match="features: teacher needs a teacher"):
        kmeans_coreset.distill(make_ctx(digits, budget=10, settings=settings))
    torch.manual_seed(0)
    teacher = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)
    by_teacher = kmeans_coreset.distill(make_ctx(digits, budget=20, settings=settings, teacher=teacher))
    by_pixels = kmeans_coreset.distill(make_ctx(digits, budget=20, settings=KmeansCoresetSettings(iterations=20)))
    assert torch.bincount(by_teacher.targets, minlength=10).tolist() == [2] * 10
    assert by_teacher.manifest["teacher"] == "tiny-teacher"
    assert by_teacher.manifest["source_indices"] != by_pixels.manifest["source_indices"]


def test_lloyd_separates_obvious_clusters_and_stops_when_settled():
    generator = torch.Generator().manual_seed(0)
    points = torch.cat([torch.randn(20, 2, generator=generator) * 0.1 + centre
                        for centre in (torch.tensor([0.0, 0.0]), torch.tensor([10.0, 0.0]), torch.tensor([0.0, 10.0]))])
    result = lloyd_kmeans(points, 3, torch.Generator().manual_seed(1), max_iterations=50)
    assert result.converged and result.iterations < 50
    for start in (0, 20, 40):
        assert result.assignments[start:start + 20].unique().numel() == 1
    assert result.assignments.unique().numel() == 3
    capped = lloyd_kmeans(points, 3, torch.Generator().manual_seed(1), max_iterations=0)
    assert capped.iterations == 0 and not capped.converged


def test_two_centroids_nearest_to_one_image_take_distinct_images():
    points = torch.tensor([[0.0], [1.0], [10.0]])
    centroids = torch.tensor([[0.2], [0.1], [9.0]])
    assert nearest_distinct_points(points, centroids).tolist() == [0, 1, 2]


def test_duplicate_images_still_give_distinct_picks():
    points = torch.ones(5, 3)
    result = lloyd_kmeans(points, 3, torch.Generator().manual_seed(0))
    assert torch.isfinite(result.centroids).all() and result.inertia == 0
    assert sorted(nearest_distinct_points(points, result.centroids).tolist()) == [0, 1, 2]


def test_settings_accept_only_known_feature_spaces():
    reader = ConfigReader(Path("suite.yaml"))
    read = read_settings(KmeansCoresetSettings, {"features": "teacher", "iterations": 5}, reader, ("methods", "kmeans"))
    assert read == KmeansCoresetSettings(features="teacher", iterations=5)
    with pytest.raises(ConfigError, match="pixels, teacher"):
        read_settings(KmeansCoresetSettings, {"features": "clip"}, reader, ("methods", "kmeans"))
