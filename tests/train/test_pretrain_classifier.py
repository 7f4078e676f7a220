from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.errors import ConfigError, DataError
from kdss_bench.train.pretrain_classifier import ClassifierPretrainRecipe, pretrain_classifier
from kdss_bench.train.seeding import build_seeded_model

TINY_MODEL = "convnet_8_16_bn"


def _hard_labelled(n: int = 12, num_classes: int = 3, r: int = 16):
    """Class k lights up channel k: separable, and still so after DSA's colour/geometry changes."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % num_classes
    x = 0.3 * torch.randn(n, 3, r, r, generator=g)
    x[torch.arange(n), y] += 2.0
    return x, y


def _events(events, kind):
    return [kw for k, kw in events if k == kind]


def test_pretraining_lowers_cross_entropy_on_a_separable_set():
    x, y = _hard_labelled()
    events = []
    recipe = ClassifierPretrainRecipe(epochs=20, batch_size=5, lr=0.05)  # 3 batches per epoch, the last partial
    model = pretrain_classifier(
        TINY_MODEL, x, y, 3, recipe, seed=0, device="cpu", emit=lambda kind, **kw: events.append((kind, kw))
    )
    untrained = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=3, seed=0)
    assert model.fc.out_features == 3 and model.training
    with torch.no_grad():
        before = F.cross_entropy(untrained(x), y).item()
        after = F.cross_entropy(model(x), y).item()
    assert after < 0.5 * before
    progress = _events(events, "progress")
    assert [p["step"] for p in progress] == [10, 20]
    assert events[-1][0] == "metric" and events[-1][1]["train_loss"] == pytest.approx(progress[-1]["loss"])


@pytest.mark.parametrize(("fraction", "rate_at_epoch_10"), [(0.5, 0.01), (0.45, 0.001)])
def test_learning_rate_drops_tenfold_after_the_milestone_epoch(fraction, rate_at_epoch_10):
    x, y = _hard_labelled(n=6)
    events = []
    recipe = ClassifierPretrainRecipe(epochs=20, batch_size=6, milestone_fraction=fraction, dsa=False)
    pretrain_classifier(TINY_MODEL, x, y, 3, recipe, seed=0, device="cpu",
                        emit=lambda kind, **kw: events.append((kind, kw)))
    rates = [p["lr"] for p in _events(events, "progress")]
    assert rates == pytest.approx([rate_at_epoch_10, 0.001])  # the rate used in epochs 10 and 20


def test_milestone_is_half_the_epochs_as_officially():
    assert [ClassifierPretrainRecipe(epochs=e).milestone_epoch for e in (1000, 7, 1)] == [500, 3, 0]


def test_same_seed_gives_identical_weights_and_dsa_changes_them():
    x, y = _hard_labelled()
    recipe = ClassifierPretrainRecipe(epochs=2, batch_size=5)
    a = pretrain_classifier(TINY_MODEL, x, y, 3, recipe, seed=4, device="cpu")
    b = pretrain_classifier(TINY_MODEL, x, y, 3, recipe, seed=4, device="cpu")
    plain = ClassifierPretrainRecipe(epochs=2, batch_size=5, dsa=False)
    c = pretrain_classifier(TINY_MODEL, x, y, 3, plain, seed=4, device="cpu")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.fc.weight, c.fc.weight)


def test_zero_epochs_returns_the_seeded_initial_model():
    x, y = _hard_labelled()
    model = pretrain_classifier(TINY_MODEL, x, y, 5, ClassifierPretrainRecipe(epochs=0), seed=2, device="cpu")
    fresh = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=5, seed=2)
    assert torch.equal(model.fc.weight, fresh.fc.weight)


def test_bad_labels_and_recipes_are_reported():
    x, y = _hard_labelled()
    recipe = ClassifierPretrainRecipe(epochs=1)
    with pytest.raises(DataError, match="12 images but 11 labels"):
        pretrain_classifier(TINY_MODEL, x, y[:11], 3, recipe, seed=0, device="cpu")
    with pytest.raises(DataError, match="3 classes"):
        pretrain_classifier(TINY_MODEL, x, y + 1, 3, recipe, seed=0, device="cpu")
    with pytest.raises(DataError, match="integer"):
        pretrain_classifier(TINY_MODEL, x, y.float(), 3, recipe, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="unknown op family"):
        ClassifierPretrainRecipe(dsa_strategy="color_jitter")
