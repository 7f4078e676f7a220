"""The unrolled student and the normalised distance that MTT and MKDT share."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.errors import ConfigError
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.trajectory_matching import (
    check_expert_sizes,
    matching_loss,
    normalized_distance,
    unroll_student,
)
from kdss_bench.models.registry import build_model


@pytest.fixture()
def student():
    torch.manual_seed(0)
    return FlatParameters(build_model("convnet_4_8_in", in_shape=(3, 8, 8), num_outputs=5).train())


def mse_to(targets):
    return lambda outputs, rows: F.mse_loss(outputs, targets[rows])


def test_steps_are_plain_sgd_on_the_chunks_taken_from_the_end(student):
    torch.manual_seed(1)
    images, targets = torch.randn(7, 3, 8, 8), torch.randn(7, 5)
    start, lr = student.flatten(), torch.tensor(0.05)
    end = unroll_student(student, start, lr, images, mse_to(targets), steps=3, batch=3,
                         generator=torch.Generator().manual_seed(4))
    order = torch.randperm(7, generator=torch.Generator().manual_seed(4))
    chunks = list(torch.split(order, 3))  # sizes 3, 3, 1: popped as the 1, then 3, then 3
    expected = start.clone()
    for rows in (chunks[2], chunks[1], chunks[0]):
        flat = expected.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.mse_loss(student(flat, images[rows]), targets[rows]), flat)
        expected = expected - lr * grad
    torch.testing.assert_close(end.detach(), expected)


def test_a_new_permutation_starts_when_the_chunks_run_out(student):
    images, targets = torch.randn(4, 3, 8, 8), torch.randn(4, 5)
    seen = []

    def recording(outputs, rows):
        seen.append(sorted(rows.tolist()))
        return F.mse_loss(outputs, targets[rows])

    unroll_student(student, student.flatten(), torch.tensor(0.01), images, recording, steps=3, batch=4,
                   generator=torch.Generator().manual_seed(0))
    assert seen == [[0, 1, 2, 3]] * 3


def test_distance_is_one_without_movement_and_gradients_reach_every_learnable_input(student):
    images = torch.randn(6, 3, 8, 8, requires_grad=True)
    targets = torch.randn(6, 5, requires_grad=True)
    start = student.flatten()
    target = start + 0.01 * torch.randn_like(start)
    still = matching_loss(student, start, target, torch.tensor(0.0), images, mse_to(targets), steps=2, batch=6,
                          generator=torch.Generator().manual_seed(0))
    assert still.item() == pytest.approx(1.0)
    lr = torch.tensor(0.1, requires_grad=True)
    loss = matching_loss(student, start, target, lr, images, mse_to(targets), steps=2, batch=3,
                         generator=torch.Generator().manual_seed(0))
    loss.backward()
    for tensor in (images, targets, lr):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0


def test_augment_sees_every_minibatch(student):
    images, targets = torch.randn(4, 3, 8, 8), torch.randn(4, 5)
    calls = []

    def augment(x):
        calls.append(x.shape[0])
        return x.flip(-1)

    unroll_student(student, student.flatten(), torch.tensor(0.01), images, mse_to(targets), steps=3, batch=2,
                   generator=torch.Generator().manual_seed(0), augment=augment)
    assert calls == [2, 2, 2]


def test_normalized_distance():
    start, target = torch.zeros(3), torch.tensor([2.0, 0.0, 0.0])
    assert normalized_distance(torch.tensor([1.0, 0.0, 0.0]), start, target).item() == pytest.approx(0.25)


def test_stale_experts_are_a_clear_error():
    check_expert_sizes([SimpleNamespace(num_parameters=10, folder=Path("a"))], 10)
    with pytest.raises(ConfigError, match="stale expert cache"):
        check_expert_sizes([SimpleNamespace(num_parameters=9, folder=Path("a"))], 10)


def test_next_in_cycle_matches_each_expert_once_per_pass_and_refills_the_queue_in_place():
    import numpy as np

    from kdss_bench.methods.trajectory_matching import next_in_cycle

    queue: list[int] = []
    rng = np.random.default_rng(0)
    passes = [[next_in_cycle(queue, rng, 4) for _ in range(4)] for _ in range(3)]
    assert all(sorted(p) == [0, 1, 2, 3] for p in passes) and queue == []
    queue.extend([2, 0])  # a queue restored from a checkpoint is continued, not reshuffled
    assert [next_in_cycle(queue, rng, 4), next_in_cycle(queue, rng, 4)] == [2, 0]
