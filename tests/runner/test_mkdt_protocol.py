"""MKDT's protocol pre-training: which targets and which step size each kind of set gets."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.runner.mkdt_protocol import pretrain_under_mkdt_protocol, protocol_lr, protocol_targets
from kdss_bench.teacher.backbone import build_teacher_backbone, freeze_teacher
from kdss_bench.train.recipes import MkdtProtocolRecipe, recipe_defaults

SETTINGS = recipe_defaults(MkdtProtocolRecipe)


def _set(kind: str, learned_lr: float | None = None) -> DistilledSet:
    images = torch.randn(6, 3, 16, 16)
    targets = torch.randn(6, 8) if kind == "features" else torch.arange(6) % 3
    return DistilledSet(images, targets, kind, {} if learned_lr is None else {"learned_lr": learned_lr})


def test_feature_sets_keep_their_targets_and_labelled_sets_take_the_teachers_features():
    teacher = freeze_teacher(build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)))
    features = _set("features")
    targets, origin = protocol_targets(features, teacher)
    assert origin == "set" and torch.equal(targets, features.targets)
    labelled = _set("hard")
    targets, origin = protocol_targets(labelled, teacher)
    with torch.no_grad():
        expected = teacher(labelled.images).flatten(1)
    assert origin == "teacher" and torch.allclose(targets, expected, atol=1e-6)
    with pytest.raises(ValueError, match="teacher"):
        protocol_targets(labelled, None)


def test_an_mkdt_set_is_pretrained_with_its_learned_step_size_unless_told_otherwise():
    assert protocol_lr(_set("features", learned_lr=0.03), SETTINGS) == (0.03, "learned")
    assert protocol_lr(_set("features", learned_lr=0.03), {**SETTINGS, "learned_lr": False}) == (0.1, "lr")
    assert protocol_lr(_set("features"), SETTINGS) == (0.1, "lr"), "KRR-ST's set learned none: MKDT's 0.1"
    lr, origin = protocol_lr(_set("features", learned_lr=-0.01), SETTINGS)
    assert lr == 0.1 and "not positive" in origin


def test_the_pretrained_head_is_as_wide_as_the_targets():
    model, facts = pretrain_under_mkdt_protocol(_set("features", learned_lr=0.05), None, "convnet_8_16_bn",
                                                {**SETTINGS, "epochs": 1, "batch_size": 4}, seed=0,
                                                device=torch.device("cpu"), in_shape=(3, 16, 16), emit=None)
    assert model.fc.out_features == 8 and facts == {"targets": "set", "lr": 0.05, "lr_from": "learned",
                                                    "target_dim": 8}
