"""kdss_bench.methods.kmeans_clustering: k-means++ seeding, Lloyd steps, nearest distinct real points."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.kmeans_clustering import (
    kmeans_plus_plus,
    lloyd_kmeans,
    nearest_distinct_points,
    squared_distances,
)


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three tight clusters of 10 points in 5-d around far-apart centres, shuffled; (points, true labels)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0] * 5, [10.0] * 5, [0.0, 20.0, 0.0, -20.0, 0.0]])
    labels = torch.arange(30) % 3
    points = centres[labels] + 0.1 * torch.randn(30, 5, generator=g)
    order = torch.randperm(30, generator=g)
    return points[order], labels[order]


def test_squared_distances_match_the_definition_and_are_never_negative():
    g = torch.Generator().manual_seed(1)
    points, centroids = torch.randn(7, 4, generator=g), torch.randn(3, 4, generator=g)
    expected = ((points[:, None, :] - centroids[None]) ** 2).sum(-1)
    torch.testing.assert_close(squared_distances(points, centroids), expected, rtol=1e-5, atol=1e-5)
    assert (squared_distances(points, points) >= 0).all()


def test_kmeans_plus_plus_picks_distinct_data_points_spread_over_the_clusters():
    points, labels = blobs()
    seeds = kmeans_plus_plus(points, 3, torch.Generator().manual_seed(0))
    rows = [int((points == s).all(1).nonzero()) for s in seeds]
    assert len(set(rows)) == 3 and {int(labels[r]) for r in rows} == {0, 1, 2}


def test_kmeans_plus_plus_on_duplicates_falls_back_to_uniform_draws_and_checks_k():
    points = torch.ones(4, 2)
    assert torch.equal(kmeans_plus_plus(points, 3, torch.Generator().manual_seed(0)), torch.ones(3, 2))
    for k in (0, 5):
        with pytest.raises(ValueError, match="1 <= k <= n"):
            kmeans_plus_plus(points, k, torch.Generator())


def test_lloyd_recovers_the_clusters_and_reports_convergence_and_inertia():
    points, labels = blobs()
    result = lloyd_kmeans(points, 3, torch.Generator().manual_seed(0))
    assert result.converged and 1 <= result.iterations < 100
    assert result.assignments.dtype == torch.int64 and result.assignments.shape == (30,)
    # the partition equals the true one up to a renaming of the clusters
    pairs = set(zip(result.assignments.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == 3
    for cluster in range(3):
        torch.testing.assert_close(result.centroids[cluster], points[result.assignments == cluster].mean(0))
    expected = sum(((points[result.assignments == c] - result.centroids[c]) ** 2).sum() for c in range(3))
    assert result.inertia == pytest.approx(float(expected), rel=1e-4)


def test_lloyd_is_deterministic_for_a_seed_and_stops_at_max_iterations():
    g = torch.Generator().manual_seed(3)
    points = torch.randn(200, 2, generator=g)  # no cluster structure: takes many steps
    first = lloyd_kmeans(points, 8, torch.Generator().manual_seed(5))
    second = lloyd_kmeans(points, 8, torch.Generator().manual_seed(5))
    assert torch.equal(first.centroids, second.centroids) and torch.equal(first.assignments, second.assignments)
    capped = lloyd_kmeans(points, 8, torch.Generator().manual_seed(5), max_iterations=1)
    assert capped.iterations == 1 and not capped.converged
    assert capped.inertia >= first.inertia - 1e-3, "more Lloyd steps never increase the inertia"


def test_lloyd_with_k_equal_to_n_puts_every_point_in_its_own_cluster():
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    result = lloyd_kmeans(points, 3, torch.Generator().manual_seed(0))
    assert sorted(result.assignments.tolist()) == [0, 1, 2] and result.inertia == 0.0


def test_nearest_distinct_points_are_taken_in_centroid_order_without_repeats():
    points = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    centroids = torch.tensor([[0.9], [1.1], [9.0]])
    # 1.0 is nearest to both first centroids: the second takes the next nearest free point (2.0, not 0.0)
    assert nearest_distinct_points(points, centroids).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="3 centroids but only 2 points"):
        nearest_distinct_points(points[:2], centroids)


def test_near_ties_resolve_by_exact_distance():
    """The matrix-product shortcut would lose these digits; the exact distance picks the truly nearest."""
    base = 1000.0
    points = torch.tensor([[base, 0.0], [base + 0.001, 0.0]], dtype=torch.float32)
    assert nearest_distinct_points(points, torch.tensor([[base + 0.0009, 0.0]])).tolist() == [1]
    assert nearest_distinct_points(points, torch.tensor([[base + 0.0001, 0.0]])).tolist() == [0]
    shortcut = squared_distances(points, torch.tensor([[base + 0.0009, 0.0]]))
    assert shortcut[0, 0] == shortcut[1, 0], "the fast form cannot tell these apart (why assignment uses it only)"
