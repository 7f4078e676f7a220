from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.errors import DataError
from kdss_bench.train.pretrain import PretrainRecipe, pretrain_on_targets
from kdss_bench.train.seeding import build_seeded_model

TINY_MODEL = "convnet_8_16_bn"


def _distilled(n: int = 12, dim: int = 6, r: int = 16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, r, r, generator=g), torch.randn(n, dim, generator=g)


def test_pretraining_lowers_mse_on_the_distilled_set():
    x, y = _distilled()
    events = []
    recipe = PretrainRecipe(epochs=20, batch_size=5)  # 3 batches per epoch, the last one partial
    model = pretrain_on_targets(
        TINY_MODEL, x, y, recipe, seed=0, device="cpu", emit=lambda kind, **kw: events.append((kind, kw))
    )
    untrained = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=6, seed=0)
    assert model.fc.out_features == y.shape[1]
    model.eval()
    untrained.eval()
    with torch.no_grad():
        before = F.mse_loss(untrained(x), y).item()
        after = F.mse_loss(model(x), y).item()
    assert after < 0.5 * before
    progress = [kw for kind, kw in events if kind == "progress"]
    assert [p["step"] for p in progress] == [10, 20]
    assert all(p["total"] == 20 for p in progress)
    assert events[-1][0] == "metric" and events[-1][1]["train_loss"] == pytest.approx(progress[-1]["loss"])


def test_same_seed_gives_identical_weights():
    x, y = _distilled()
    recipe = PretrainRecipe(epochs=2, batch_size=5)
    a = pretrain_on_targets(TINY_MODEL, x, y, recipe, seed=4, device="cpu")
    b = pretrain_on_targets(TINY_MODEL, x, y, recipe, seed=4, device="cpu")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name


def test_zero_epochs_returns_the_seeded_initial_model():
    x, y = _distilled()
    model = pretrain_on_targets(TINY_MODEL, x, y, PretrainRecipe(epochs=0), seed=2, device="cpu")
    fresh = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=6, seed=2)
    assert torch.equal(model.fc.weight, fresh.fc.weight)


def test_mismatched_targets_are_a_data_error():
    x, y = _distilled()
    with pytest.raises(DataError, match="12 images but 11 targets"):
        pretrain_on_targets(TINY_MODEL, x, y[:11], PretrainRecipe(epochs=1), seed=0, device="cpu")
