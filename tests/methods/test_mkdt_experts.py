"""MKDT's teacher targets and KD expert trajectories: what they hold, their cache keys, reuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods.context import local_artifact
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.mkdt_experts import (
    KdExpertRecipe,
    expert_parts,
    expert_seed,
    expert_trajectories,
    teacher_fingerprint,
    teacher_targets,
)
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.train.augment import normalize, to_float
from kdss_bench.train.seeding import build_seeded_model

RECIPE = KdExpertRecipe(model="convnet_8_16_in", train_epochs=2)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)


class Counting:
    """A real on-disk artifact cache that records what it had to build."""

    def __init__(self, root: Path) -> None:
        self.cache = local_artifact(root)
        self.built: list[tuple[str, int | None]] = []

    def __call__(self, name, parts, build):
        def counted(folder):
            self.built.append((name, parts.get("index")))
            build(folder)

        return self.cache(name, parts, counted)


def targets_of(teacher, digits, artifact, *, key="t", mean=None, std=None):
    return teacher_targets(teacher, digits, teacher_key=key, mean=mean or digits.mean, std=std or digits.std,
                           device=CPU, artifact=artifact)


def experts_of(digits, targets, parts, artifact, *, recipe=RECIPE, num_experts=1, seed=0):
    return expert_trajectories(digits, targets, recipe, targets_parts=parts, mean=digits.mean, std=digits.std,
                               num_experts=num_experts, seed=seed, device=CPU, artifact=artifact)


def test_targets_are_the_teachers_features_of_the_normalised_source_computed_once(digits, teacher, tmp_path):
    artifact = Counting(tmp_path)
    targets, parts = targets_of(teacher, digits, artifact)
    with torch.no_grad():
        expected = teacher(normalize(to_float(digits.x_train), digits.mean, digits.std))
    torch.testing.assert_close(targets, expected)
    again, same_parts = targets_of(teacher, digits, artifact)
    assert torch.equal(again, targets) and same_parts == parts
    targets_of(teacher, digits, artifact, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    targets_of(teacher, digits, artifact, key="another-teacher")
    assert artifact.built == [("mkdt_teacher_targets", None)] * 3, "normalisation and teacher are in the key"


def test_teacher_fingerprint_follows_the_weights(teacher):
    changed = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval()
    changed.load_state_dict(teacher.state_dict())
    assert teacher_fingerprint(changed) == teacher_fingerprint(teacher)
    with torch.no_grad():
        next(changed.parameters()).add_(1e-3)
    assert teacher_fingerprint(changed) != teacher_fingerprint(teacher)


def test_trajectory_has_a_snapshot_per_epoch_and_lowers_the_kd_loss(digits, teacher, tmp_path):
    artifact = local_artifact(tmp_path)
    targets, parts = targets_of(teacher, digits, artifact)
    (expert,) = experts_of(digits, targets, parts, artifact, seed=3)
    snapshots = expert.all_snapshots()
    init = build_seeded_model(RECIPE.model, in_shape=(3, 16, 16), num_outputs=targets.shape[1],
                              seed=expert_seed(3, 0))
    layout = FlatParameters(init.train())
    assert snapshots.shape == (RECIPE.train_epochs + 1, layout.size)
    torch.testing.assert_close(snapshots[0], layout.flatten())
    assert torch.all((snapshots[1:] - snapshots[:-1]).norm(dim=1) > 1e-3), "every epoch moves the parameters"
    images = normalize(to_float(digits.x_train), digits.mean, digits.std)
    with torch.no_grad():
        kd = [F.mse_loss(layout(row, images), targets).item() for row in snapshots]
    assert kd[-1] < 0.5 * kd[0], kd  # SGD with momentum 0.9 need not fall every epoch
    record = expert.record
    assert record["target_dim"] == targets.shape[1] and len(record["train_loss"]) == RECIPE.train_epochs
    assert record["train_loss"][-1] < record["train_loss"][0]


def test_experts_are_trained_once_and_shared(digits, teacher, tmp_path):
    artifact = Counting(tmp_path)
    targets, parts = targets_of(teacher, digits, artifact)
    first = experts_of(digits, targets, parts, artifact, num_experts=1)
    again = experts_of(digits, targets, parts, artifact, num_experts=2)
    experts_of(digits, targets, parts, artifact, num_experts=2)
    assert artifact.built == [("mkdt_teacher_targets", None), ("mkdt_experts", 0), ("mkdt_experts", 1)]
    assert again[0].folder == first[0].folder
    assert not torch.equal(again[0].snapshot(0), again[1].snapshot(0)), "experts start from different inits"


def test_recipe_seed_and_targets_are_in_the_expert_key(digits, teacher, tmp_path):
    artifact = Counting(tmp_path)
    targets, parts = targets_of(teacher, digits, artifact)
    experts_of(digits, targets, parts, artifact)
    experts_of(digits, targets, parts, artifact, recipe=dataclasses.replace(RECIPE, lr=0.05))
    experts_of(digits, targets, parts, artifact, seed=1)
    other_targets, other_parts = targets_of(teacher, digits, artifact, key="another-teacher")
    experts_of(digits, other_targets, other_parts, artifact)
    assert [b for b in artifact.built if b[0] == "mkdt_experts"] == [("mkdt_experts", 0)] * 4
    key = expert_parts(RECIPE, targets=parts, seed=0, index=0)
    assert set(key) == {"format", "protocol_version", "targets", "recipe", "seed", "index"}


def test_training_is_reproducible_from_the_seed(digits, teacher, tmp_path):
    recipe = dataclasses.replace(RECIPE, train_epochs=1)
    a_cache, b_cache = local_artifact(tmp_path / "a"), local_artifact(tmp_path / "b")
    targets, parts = targets_of(teacher, digits, a_cache)
    (a,) = experts_of(digits, targets, parts, a_cache, recipe=recipe)
    (b,) = experts_of(digits, targets, parts, b_cache, recipe=recipe)
    assert torch.equal(a.all_snapshots(), b.all_snapshots())
