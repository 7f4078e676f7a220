"""kdss_bench.runner.pretrain_choice: the pre-training recipe of a distilled set, by its target kind or shared."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.config import load_suite
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.runner.pretrain_choice import NATIVE_RECIPES, output_width, pretrain_distilled, recipe_for
from kdss_bench.train.pretrain_classifier import ClassifierPretrainRecipe, pretrain_classifier
from tests.conftest import TINY_SUITE

X = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
SETS = {
    "features": DistilledSet(X, torch.randn(6, 5, generator=torch.Generator().manual_seed(1)), "features"),
    "hard": DistilledSet(X, torch.tensor([0, 1, 2, 0, 1, 2]), "hard"),
    "soft": DistilledSet(X, torch.randn(6, 3, generator=torch.Generator().manual_seed(2)), "soft"),
}


@pytest.fixture
def suites(write_suite):
    text = TINY_SUITE + ("pretrain_classifier: {epochs: 1, batch_size: 4}\n"
                         "pretrain_label_regression: {iterations: 2, batch_size: 4, warmup: 1}\n")
    native = load_suite(write_suite(text))
    shared = load_suite(write_suite(text + "recipe: shared\n", name="shared.yaml"))
    return native, shared


def test_native_recipes_follow_the_target_kind(suites):
    native, _ = suites
    assert NATIVE_RECIPES == {"features": "features_mse", "hard": "classifier", "soft": "label_regression"}
    assert recipe_for(native, "features") == ("features_mse", native.pretrain)
    assert recipe_for(native, "hard") == ("classifier", native.pretrain_classifier)
    assert recipe_for(native, "soft") == ("label_regression", native.pretrain_label_regression)
    name, settings = recipe_for(native, "hard")
    settings["epochs"] = 99
    assert native.pretrain_classifier["epochs"] == 1, "the suite's settings are copied, not handed out"


def test_shared_recipes_use_the_suites_pretrain_with_the_loss_the_targets_need(suites):
    _, shared = suites
    assert recipe_for(shared, "hard") == ("shared_classifier", shared.pretrain)
    assert recipe_for(shared, "features") == recipe_for(shared, "soft") == ("shared_mse", shared.pretrain)


def test_the_head_is_as_wide_as_the_classes_for_labels_else_the_targets():
    assert output_width(SETS["hard"], 10) == 10
    assert output_width(SETS["features"], 10) == 5 and output_width(SETS["soft"], 10) == 3


@pytest.mark.parametrize(("recipe", "kind", "width"), [
    ("features_mse", "features", 5), ("shared_mse", "soft", 3), ("classifier", "hard", 4),
    ("shared_classifier", "hard", 4), ("label_regression", "soft", 3),
])
def test_each_recipe_pretrains_a_model_with_the_right_head(suites, recipe, kind, width):
    native, _ = suites
    settings = {"features_mse": native.pretrain, "shared_mse": native.pretrain, "classifier":
                native.pretrain_classifier, "shared_classifier": native.pretrain,
                "label_regression": native.pretrain_label_regression}[recipe]
    events = []
    model = pretrain_distilled(recipe, dict(settings), SETS[kind], "convnet_4_bn", num_source_classes=4, seed=0,
                               device=torch.device("cpu"), in_shape=(3, 8, 8),
                               emit=lambda kind, **values: events.append(kind))
    assert model.fc.out_features == width
    assert events, "the recipe reports its progress"


def test_the_shared_classifier_is_the_classifier_without_decay_or_augmentation(suites):
    native, _ = suites
    settings = {"epochs": 2, "batch_size": 4, "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0}
    ours = pretrain_distilled("shared_classifier", settings, SETS["hard"], "convnet_4_bn", num_source_classes=3,
                              seed=5, device=torch.device("cpu"), in_shape=(3, 8, 8), emit=lambda *a, **k: None)
    recipe = ClassifierPretrainRecipe(**settings, milestone_fraction=1.0, dsa=False)
    direct = pretrain_classifier("convnet_4_bn", X, SETS["hard"].targets, 3, recipe, seed=5,
                                 device=torch.device("cpu"), in_shape=(3, 8, 8), emit=lambda *a, **k: None)
    for (name, a), b in zip(ours.state_dict().items(), direct.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    augmented = pretrain_classifier("convnet_4_bn", X, SETS["hard"].targets, 3,
                                    dataclasses.replace(recipe, dsa=True), seed=5, device=torch.device("cpu"),
                                    in_shape=(3, 8, 8), emit=lambda *a, **k: None)
    assert not torch.equal(augmented.fc.weight, ours.fc.weight), "so the comparison above can fail"


def test_an_unknown_recipe_is_refused():
    with pytest.raises(ValueError, match="unknown pre-training recipe 'dino'"):
        pretrain_distilled("dino", {}, SETS["soft"], "convnet_4_bn", num_source_classes=3, seed=0,
                           device=torch.device("cpu"), in_shape=(3, 8, 8), emit=None)
