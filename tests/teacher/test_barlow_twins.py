"""Barlow Twins: the loss, the training loop's determinism, and that it learns."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.data.image_set import ImageSet
from kdss_bench.teacher import barlow_twins_loss, train_barlow_twins
from kdss_bench.teacher.barlow_twins import build_projector

TINY = dict(arch="convnet_8_16_bn", batch_size=32, projector_dims=(32, 32), device="cpu")


def _decorrelated(n: int = 8, d: int = 4) -> torch.Tensor:
    """Columns of a Sylvester-Hadamard matrix minus the all-ones one: zero mean, unit variance, orthogonal."""
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat((torch.cat((h, h), 1), torch.cat((h, -h), 1)), 0)
    return h[:, 1 : d + 1]


def test_loss_of_identical_decorrelated_embeddings_is_zero() -> None:
    z = _decorrelated() * 3.0 + 2.0  # batch standardisation removes scale and shift
    assert barlow_twins_loss(z, z).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_counts_diagonal_fully_and_off_diagonal_by_lambda() -> None:
    z = _decorrelated(8, 2)
    # z2 = [-z0, z1] gives C = diag(-1, 1): diagonal term (1 - (-1))^2 = 4, off-diagonal 0.
    assert barlow_twins_loss(z, torch.stack((-z[:, 0], z[:, 1]), 1)).item() == pytest.approx(4.0, rel=1e-4)
    # z2 = [z1, z0] gives C = [[0, 1], [1, 0]]: diagonal 2, off-diagonal 2 * lambda.
    swapped = z.flip(1)
    assert barlow_twins_loss(z, swapped, lambda_offdiag=0.5).item() == pytest.approx(2.0 + 0.5 * 2, rel=1e-4)


def test_projector_is_linear_bn_relu_then_linear() -> None:
    projector = build_projector(16, (32, 8))
    kinds = [type(m).__name__ for m in projector]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert projector[0].bias is None and projector[-1].out_features == 8


def test_training_lowers_the_loss(toy_images: ImageSet) -> None:
    losses: list[float] = []
    train_barlow_twins(
        toy_images,
        epochs=10,
        seed=0,
        progress_every=1,
        on_progress=lambda step, total, loss: losses.append(loss),
        **TINY,
    )
    assert len(losses) == 20
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.8 * first, losses


def test_training_is_deterministic_for_a_seed_and_returns_a_frozen_backbone(toy_images: ImageSet) -> None:
    def run(seed: int) -> tuple[torch.nn.Module, list[tuple[int, int, float]]]:
        calls: list[tuple[int, int, float]] = []
        model = train_barlow_twins(
            toy_images,
            epochs=2,
            seed=seed,
            progress_every=2,
            on_progress=lambda *args: calls.append(args),
            **TINY,
        )
        return model, calls

    a, calls_a = run(seed=3)
    b, calls_b = run(seed=3)
    c, _ = run(seed=4)

    assert calls_a == calls_b
    assert [(step, total) for step, total, _ in calls_a] == [(2, 4), (4, 4)]
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)
    assert not a.training and not any(p.requires_grad for p in a.parameters())
    assert a(toy_images.x_train[:2].float() / 255).shape == (2, 16)


def test_training_does_not_touch_the_global_rng(toy_images: ImageSet) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_barlow_twins(toy_images, epochs=1, seed=0, **TINY)
    torch.testing.assert_close(torch.rand(3), expected)


def test_too_few_images_is_refused(toy_images: ImageSet) -> None:
    one = dataclasses.replace(toy_images, x_train=toy_images.x_train[:1])
    with pytest.raises(ValueError, match="at least 2 images"):
        train_barlow_twins(one, epochs=1, seed=0, **TINY)
