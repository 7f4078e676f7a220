"""MKDT's L-BFGS linear evaluation: the official objective on frozen features, the backbone untouched."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.train.lbfgs_probe import LbfgsProbeRecipe, lbfgs_probe
from kdss_bench.train.linear_probe import extract_features
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import build_transfer_model

TINY_MODEL = "convnet_8_16_bn"


def _pretrained():
    init = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=7, seed=4)
    with torch.no_grad():
        init.train()(torch.rand(8, 3, 16, 16))
    return init


def test_the_probe_separates_the_toy_set_and_leaves_the_pretrained_model_alone(toy_set):
    init = _pretrained()
    before = {k: v.clone() for k, v in init.state_dict().items()}
    events = []
    result = lbfgs_probe(TINY_MODEL, init, toy_set, LbfgsProbeRecipe(steps=5), seed=0, device="cpu",
                         emit=lambda kind, **kw: events.append((kind, kw)))
    assert result.accuracy >= 95.0 and result.iterations == 5
    assert all(torch.equal(init.state_dict()[k], v) for k, v in before.items())
    assert [kw["step"] for kind, kw in events if kind == "progress"] == [1, 2, 3, 4, 5]


def test_it_minimises_the_official_objective(toy_set):
    """The same head, fitted by hand with ``train_clf``'s loop (torch's LBFGS defaults, CE + l2 ||W||^2),
    gives the same training objective and test accuracy: nothing else enters it."""
    recipe, init = LbfgsProbeRecipe(steps=3, l2=1e-3), _pretrained()
    ours = lbfgs_probe(TINY_MODEL, init, toy_set, recipe, seed=1, device="cpu")
    model = build_transfer_model(TINY_MODEL, init, num_classes=2, in_shape=(3, 16, 16), seed=1)
    features = extract_features(model, toy_set.x_train, toy_set.mean, toy_set.std, device=torch.device("cpu"))
    head = model.fc
    optimizer = torch.optim.LBFGS(head.parameters())
    for _ in range(3):
        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(head(features), toy_set.y_train) + 1e-3 * head.weight.pow(2).sum()
            loss.backward()
            return loss
        last = optimizer.step(closure)
    assert ours.train_loss == pytest.approx(float(last.detach()), rel=1e-6)
    test_features = extract_features(model, toy_set.x_test, toy_set.mean, toy_set.std, device=torch.device("cpu"))
    accuracy = 100.0 * (head(test_features).argmax(1) == toy_set.y_test).float().mean().item()
    assert ours.accuracy == accuracy
