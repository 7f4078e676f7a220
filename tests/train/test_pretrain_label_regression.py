from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import DataError
from kdss_bench.train.pretrain_label_regression import (
    LabelRegressionPretrainRecipe,
    label_regression_loss,
    pretrain_label_regression,
)
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.warmup_cosine import warmup_cosine_factor

TINY_MODEL = "convnet_8_16_bn"


def _soft_labelled(n: int = 12, r: int = 16):
    """Soft labels that follow which channel is lit, so DSA-augmented images still determine them."""
    g = torch.Generator().manual_seed(0)
    cls = torch.arange(n) % 3
    x = 0.3 * torch.randn(n, 3, r, r, generator=g)
    x[torch.arange(n), cls] += 2.0
    y = torch.full((n, 3), -0.5)
    y[torch.arange(n), cls] = 1.5
    return x, y


def test_loss_is_half_the_summed_squared_error_averaged_over_the_batch():
    out = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [3.0, 1.0]])
    assert label_regression_loss(out, target).item() == pytest.approx(((1 + 4) * 0.5 + (9 + 1) * 0.5) / 2)


def test_pretraining_lowers_the_regression_loss_and_follows_the_schedule():
    x, y = _soft_labelled()
    events = []
    recipe = LabelRegressionPretrainRecipe(iterations=60, batch_size=6, lr=3e-3, warmup=10)
    model = pretrain_label_regression(
        TINY_MODEL, x, y, recipe, seed=0, device="cpu", emit=lambda kind, **kw: events.append((kind, kw))
    )
    untrained = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=3, seed=0)
    assert model.fc.out_features == 3 and model.training
    with torch.no_grad():
        before = label_regression_loss(untrained(x), y).item()
        after = label_regression_loss(model(x), y).item()
    assert after < 0.5 * before
    progress = [kw for kind, kw in events if kind == "progress"]
    assert [p["step"] for p in progress] == [10, 20, 30, 40, 50, 60]
    rates = [p["lr"] for p in progress]
    # The rate each reported step used: 0-based step s - 1 of the warm-up/cosine factor.
    assert rates == pytest.approx([3e-3 * warmup_cosine_factor(s - 1, 10, 60) for s in (10, 20, 30, 40, 50, 60)])
    assert rates[0] == pytest.approx(3e-3 * 0.9) and rates[-1] < 3e-3 * 0.01
    assert events[-1][0] == "metric" and events[-1][1]["train_loss"] == pytest.approx(progress[-1]["loss"])


def test_same_seed_gives_identical_weights():
    x, y = _soft_labelled()
    recipe = LabelRegressionPretrainRecipe(iterations=3, batch_size=5, warmup=1)
    a = pretrain_label_regression(TINY_MODEL, x, y, recipe, seed=4, device="cpu")
    b = pretrain_label_regression(TINY_MODEL, x, y, recipe, seed=4, device="cpu")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name


def test_zero_iterations_returns_the_seeded_initial_model():
    x, y = _soft_labelled()
    model = pretrain_label_regression(
        TINY_MODEL, x, y, LabelRegressionPretrainRecipe(iterations=0), seed=2, device="cpu"
    )
    fresh = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=3, seed=2)
    assert torch.equal(model.fc.weight, fresh.fc.weight)


def test_hard_labels_are_a_data_error():
    x, _ = _soft_labelled()
    with pytest.raises(DataError, match="float \\(N, K\\)"):
        pretrain_label_regression(
            TINY_MODEL, x, torch.zeros(12, dtype=torch.int64), LabelRegressionPretrainRecipe(iterations=1),
            seed=0, device="cpu",
        )
