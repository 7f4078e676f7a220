"""Every registered model trains: forward, embed and backward at a tiny batch."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.models import build_model, model_names


@pytest.mark.parametrize("name", model_names())
def test_forward_backward_reach_the_first_conv(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_shape=(3, 32, 32), num_outputs=7)
    x = torch.randn(2, 3, 32, 32)

    features = model.embed(x)
    out = model(x)

    assert isinstance(model.fc, torch.nn.Linear)
    assert features.shape == (2, model.num_features)
    assert model.fc.in_features == model.num_features
    assert out.shape == (2, 7)
    torch.testing.assert_close(out, model.fc(features))
    out.square().mean().backward()
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.grad is not None
    assert first_conv.weight.grad.abs().sum() > 0
