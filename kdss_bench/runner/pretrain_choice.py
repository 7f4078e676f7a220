"""Which recipe pre-trains a distilled set: by its target kind, or one shared recipe.

``native`` (the paper's protocol): features -> MSE to Y_s with SGD 0.1 (KRR-ST); hard labels ->
cross-entropy with DSA (random, kmeans, dsa, dm, mtt); learned labels -> 0.5 * squared error with
AdamW and cosine warm-up (kip, frepo). ``shared``: every method uses the suite's ``pretrain``
optimiser, length and batch, with the loss its targets need (cross-entropy for hard labels, MSE
otherwise) and no augmentation, so that only the distilled data differ. The official recipes and
where they are cited: docs/method-notes.md#pre-training-on-a-distilled-set.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kdss_bench.config import Suite
from kdss_bench.methods.distilled_set import DistilledSet

NATIVE_RECIPES = {"features": "features_mse", "hard": "classifier", "soft": "label_regression"}


def recipe_for(suite: Suite, target_kind: str, model: str | None = None) -> tuple[str, dict[str, Any]]:
    """(recipe name, its settings) for a distilled set of ``target_kind`` pre-training ``model`` in ``suite``.

    Label regression takes the batch size of ``pretrain_label_regression.batch_size_per_model`` for
    ``model`` where the suite sets one (the official ``test.py:152-153`` gives MobileNet 256 on
    Tiny-ImageNet, ``test_kd.py:157-158`` 128): the settings, and so the stage key, hold the batch used.
    """
    if suite.recipe == "shared":
        return f"shared_{'classifier' if target_kind == 'hard' else 'mse'}", dict(suite.pretrain)
    name = NATIVE_RECIPES[target_kind]
    settings = dict({"features_mse": suite.pretrain, "classifier": suite.pretrain_classifier,
                     "label_regression": suite.pretrain_label_regression}[name])
    if name == "label_regression" and model in suite.label_regression_batch_per_model:
        settings["batch_size"] = suite.label_regression_batch_per_model[model]
    return name, settings


def output_width(distilled: DistilledSet, num_source_classes: int) -> int:
    """Width of the pre-training head: the number of classes for hard labels, else the target width."""
    if distilled.target_kind == "hard":
        return num_source_classes
    return int(distilled.targets.shape[1])


def pretrain_distilled(recipe: str, settings: dict[str, Any], distilled: DistilledSet, model_name: str, *,
                       num_source_classes: int, seed: int, device: torch.device,
                       in_shape: tuple[int, int, int], emit) -> nn.Module:
    from kdss_bench.train.pretrain import PretrainRecipe, pretrain_on_targets

    x, y = distilled.images, distilled.targets
    if recipe in ("features_mse", "shared_mse"):
        return pretrain_on_targets(model_name, x, y.float(), PretrainRecipe(**settings), seed=seed, device=device,
                                   in_shape=in_shape, emit=emit)
    if recipe in ("classifier", "shared_classifier"):
        from kdss_bench.train.pretrain_classifier import ClassifierPretrainRecipe, pretrain_classifier

        if recipe == "shared_classifier":  # same optimiser and length as the shared recipe, no decay, no DSA
            settings = {**settings, "milestone_fraction": 1.0, "dsa": False}
        return pretrain_classifier(model_name, x, y.long(), num_source_classes, ClassifierPretrainRecipe(**settings),
                                   seed=seed, device=device, in_shape=in_shape, emit=emit)
    if recipe == "label_regression":
        from kdss_bench.train.pretrain_label_regression import LabelRegressionPretrainRecipe, pretrain_label_regression

        return pretrain_label_regression(model_name, x, y.float(), LabelRegressionPretrainRecipe(**settings),
                                         seed=seed, device=device, in_shape=in_shape, emit=emit)
    raise ValueError(f"unknown pre-training recipe {recipe!r}")
