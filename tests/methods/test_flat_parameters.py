"""A flat parameter vector drives a module's forward pass and receives its gradients."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.models.registry import build_model


@pytest.fixture()
def model():
    torch.manual_seed(0)
    return build_model("convnet_4_8_bn", in_shape=(3, 8, 8), num_outputs=3).eval()


def test_flat_vector_reproduces_the_module(model):
    layout = FlatParameters(model)
    flat = layout.flatten()
    assert flat.shape == (sum(p.numel() for p in model.parameters()),) == (layout.size,)
    x = torch.randn(5, 3, 8, 8)
    torch.testing.assert_close(layout(flat, x), model(x))
    for name, view in layout.unflatten(flat).items():
        torch.testing.assert_close(view, dict(model.named_parameters())[name])


def test_forward_reads_the_given_vector_and_leaves_the_module_alone(model):
    layout = FlatParameters(model)
    before = layout.flatten()
    changed = before.clone()
    changed[-3:] += 1.0  # the last entries are the head's bias: every logit moves by 1
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(layout(changed, x), model(x) + 1.0)
    torch.testing.assert_close(layout.flatten(), before)


def test_gradients_reach_the_flat_vector(model):
    layout = FlatParameters(model)
    flat = layout.flatten().requires_grad_(True)
    layout(flat, torch.randn(4, 3, 8, 8)).square().sum().backward()
    assert flat.grad is not None and flat.grad.abs().sum() > 0


def test_wrong_length_is_rejected(model):
    layout = FlatParameters(model)
    with pytest.raises(ValueError, match="flat vector"):
        layout.unflatten(torch.zeros(layout.size + 1))
