from __future__ import annotations

import torch

from kdss_bench.train.augment import TestTransform
from kdss_bench.train.linear_probe import LinearProbeRecipe, extract_features, linear_probe, probe_model
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import build_transfer_model

TINY_MODEL = "convnet_8_16_bn"


def _pretrained():
    init = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=5, seed=9)
    with torch.no_grad():
        init.train()(torch.rand(8, 3, 16, 16))
    return init


def test_probe_trains_only_the_head_and_leaves_the_backbone_and_bn_stats_unchanged(toy_set):
    model = build_transfer_model(TINY_MODEL, _pretrained(), num_classes=2, in_shape=(3, 16, 16), seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe_model(model, toy_set, LinearProbeRecipe(iterations=5, batch_size=16), seed=0, device="cpu")
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith("fc."):
            assert not torch.equal(after[key], value), f"head {key} was not trained"
        else:
            assert torch.equal(after[key], value), f"backbone {key} changed"


def test_probe_separates_the_toy_set_and_reports_events(toy_set):
    events = []
    result = linear_probe(
        TINY_MODEL, _pretrained(), toy_set, LinearProbeRecipe(iterations=30, batch_size=16), seed=0,
        device="cpu", emit=lambda kind, **kw: events.append((kind, kw)),
    )
    assert result.accuracy >= 95.0 and result.iterations == 30
    assert [kw["step"] for kind, kw in events if kind == "progress"] == [10, 20, 30]
    assert events[-1][0] == "metric" and events[-1][1]["accuracy"] == result.accuracy


def test_random_backbone_zero_iterations_gives_a_valid_percentage(toy_set):
    result = linear_probe(TINY_MODEL, None, toy_set, LinearProbeRecipe(iterations=0), seed=0, device="cpu")
    assert 0.0 <= result.accuracy <= 100.0


def test_features_are_the_eval_mode_embedding_of_normalised_images(toy_set):
    model = build_transfer_model(TINY_MODEL, _pretrained(), num_classes=2, in_shape=(3, 16, 16), seed=0)
    feats = extract_features(model, toy_set.x_train, toy_set.mean, toy_set.std, device=torch.device("cpu"),
                             batch_size=7)
    model.eval()
    with torch.no_grad():
        expected = model.embed(TestTransform(toy_set.mean, toy_set.std)(toy_set.x_train))
    assert feats.shape == (40, model.num_features) and not feats.is_inference()
    assert torch.allclose(feats, expected, atol=1e-5)
