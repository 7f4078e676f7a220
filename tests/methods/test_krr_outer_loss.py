"""The package's KRR-ST outer loss matches the plain reference statement: value and gradients."""

from __future__ import annotations

import torch

from kdss_bench.methods.krr_st import krr_outer_loss
from kdss_bench.models.registry import build_model

from .reference_krr_step import reference_outer_loss


def test_loss_and_gradients_match_the_reference():
    torch.manual_seed(0)
    model = build_model("convnet_8_16_bn", in_shape=(3, 16, 16), num_outputs=6).eval()
    x_syn = torch.rand(10, 3, 16, 16, requires_grad=True)
    y_syn = torch.randn(10, 6, requires_grad=True)
    x_real, y_real = torch.randn(24, 3, 16, 16), torch.randn(24, 6)

    loss = krr_outer_loss(model, x_syn, y_syn, x_real, y_real, ridge=1e-3)
    grads = torch.autograd.grad(loss, [x_syn, y_syn])
    expected = reference_outer_loss(model, x_syn, y_syn, x_real, y_real, ridge=1e-3)
    expected_grads = torch.autograd.grad(expected, [x_syn, y_syn])

    torch.testing.assert_close(loss.double(), expected, rtol=1e-4, atol=1e-6)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got.double(), want.double(), rtol=1e-3, atol=1e-5)
