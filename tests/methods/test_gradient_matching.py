"""The gradient-matching distance against a direct, neuron-by-neuron computation."""

from __future__ import annotations

import math

import pytest
import torch

from kdss_bench.methods.gradient_matching import gradient_matching_distance, layer_distance

SHAPES = [(4, 3, 3, 3), (4,), (5, 4), (5,), (2, 6, 2)]  # conv weight, bias, linear weight, bias, 3-D


def random_gradients(seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in SHAPES]


def direct_ours(grads_syn, grads_real) -> float:
    total = 0.0
    for g_syn, g_real in zip(grads_syn, grads_real, strict=True):
        if g_syn.ndim == 1:
            continue  # the official distance_wb scores biases and norm parameters as 0
        for neuron in range(g_syn.shape[0]):
            a, b = g_syn[neuron].flatten().tolist(), g_real[neuron].flatten().tolist()
            dot = sum(x * y for x, y in zip(a, b, strict=True))
            norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
            total += 1.0 - dot / (norms + 1e-6)
    return total


def test_layerwise_distance_matches_a_direct_computation():
    grads_syn, grads_real = random_gradients(0), random_gradients(1)
    value = gradient_matching_distance(grads_syn, grads_real, "ours")
    assert value.item() == pytest.approx(direct_ours(grads_syn, grads_real), rel=1e-9)


def test_layerwise_distance_ignores_magnitude_and_one_dimensional_parameters():
    grads = random_gradients(2)
    scaled = [7.0 * g for g in grads]
    assert gradient_matching_distance(grads, scaled).item() == pytest.approx(0.0, abs=1e-6)
    opposite = [-g for g in grads]
    neurons = sum(s[0] for s in SHAPES if len(s) > 1)
    assert gradient_matching_distance(grads, opposite).item() == pytest.approx(2.0 * neurons, rel=1e-6)
    bias_only = [torch.tensor([1.0, 2.0]), torch.tensor([-3.0, 5.0])]
    assert layer_distance(*bias_only).item() == 0.0


def test_mse_and_cos_metrics_match_their_definitions():
    grads_syn, grads_real = random_gradients(3), random_gradients(4)
    syn = torch.cat([g.flatten() for g in grads_syn])
    real = torch.cat([g.flatten() for g in grads_real])
    assert gradient_matching_distance(grads_syn, grads_real, "mse").item() == pytest.approx(
        ((syn - real) ** 2).sum().item())
    expected_cos = 1.0 - torch.dot(syn, real).item() / (syn.norm().item() * real.norm().item() + 1e-6)
    assert gradient_matching_distance(grads_syn, grads_real, "cos").item() == pytest.approx(expected_cos)


def test_distance_is_differentiable_in_the_synthetic_gradients():
    grads_real = random_gradients(5)
    grads_syn = [g.clone().requires_grad_(True) for g in random_gradients(6)]
    gradient_matching_distance(grads_syn, grads_real).backward()
    assert grads_syn[0].grad is not None and grads_syn[0].grad.abs().sum() > 0
    assert grads_syn[1].grad is None or grads_syn[1].grad.abs().sum() == 0


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError, match="metric"):
        gradient_matching_distance(random_gradients(0), random_gradients(1), "l1")
    with pytest.raises(ValueError, match="shapes"):
        layer_distance(torch.zeros(2, 3), torch.zeros(3, 2))
