"""MTT expert trajectories: one snapshot per epoch, reproducible from the seed, trained once and cached."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods.context import local_artifact
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.mtt_experts import ExpertRecipe, expert_seed, expert_trajectories
from kdss_bench.train.seeding import build_seeded_model

RECIPE = ExpertRecipe(model="convnet_8_16_bn", train_epochs=2, lr=0.05)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


class CountingArtifact:
    """A real on-disk artifact cache that records which experts it had to build."""

    def __init__(self, root: Path) -> None:
        self.cache = local_artifact(root)
        self.built: list[int] = []

    def __call__(self, name, parts, build):
        def counted(folder):
            self.built.append(parts["index"])
            build(folder)

        return self.cache(name, parts, counted)


def test_trajectory_has_a_snapshot_per_epoch_starting_at_the_seeded_init(digits, tmp_path):
    (expert,) = expert_trajectories(digits, RECIPE, num_experts=1, seed=3, device=CPU,
                                    artifact=local_artifact(tmp_path))
    snapshots = expert.all_snapshots()
    init = build_seeded_model(RECIPE.model, in_shape=(3, 16, 16), num_outputs=10, seed=expert_seed(3, 0))
    assert snapshots.shape == (RECIPE.train_epochs + 1, FlatParameters(init).size)
    torch.testing.assert_close(snapshots[0], FlatParameters(init).flatten())
    steps = (snapshots[1:] - snapshots[:-1]).norm(dim=1)
    assert torch.all(steps > 1e-3), "every epoch moves the parameters"
    assert torch.isfinite(snapshots).all()
    assert len(expert.record["train_loss"]) == RECIPE.train_epochs
    assert expert.record["train_loss"][-1] < expert.record["train_loss"][0]
    torch.testing.assert_close(expert.snapshot(1), snapshots[1])


def test_experts_are_trained_once_and_reused(digits, tmp_path):
    artifact = CountingArtifact(tmp_path)
    first = expert_trajectories(digits, RECIPE, num_experts=1, seed=0, device=CPU, artifact=artifact)
    again = expert_trajectories(digits, RECIPE, num_experts=2, seed=0, device=CPU, artifact=artifact)
    assert artifact.built == [0, 1], "the second call only trains the expert that was missing"
    assert again[0].folder == first[0].folder
    expert_trajectories(digits, RECIPE, num_experts=2, seed=0, device=CPU, artifact=artifact)
    assert artifact.built == [0, 1]
    assert not torch.equal(again[0].snapshot(0), again[1].snapshot(0)), "experts start from different inits"


def test_changing_the_recipe_or_seed_trains_new_experts(digits, tmp_path):
    artifact = CountingArtifact(tmp_path)
    expert_trajectories(digits, RECIPE, num_experts=1, seed=0, device=CPU, artifact=artifact)
    expert_trajectories(digits, dataclasses.replace(RECIPE, lr=0.02), num_experts=1, seed=0, device=CPU,
                        artifact=artifact)
    expert_trajectories(digits, RECIPE, num_experts=1, seed=1, device=CPU, artifact=artifact)
    assert artifact.built == [0, 0, 0]
    assert len(list((tmp_path / "mtt_experts").iterdir())) == 3


def test_training_is_reproducible_from_the_seed(digits, tmp_path):
    recipe = dataclasses.replace(RECIPE, train_epochs=1)
    (a,) = expert_trajectories(digits, recipe, num_experts=1, seed=0, device=CPU,
                               artifact=local_artifact(tmp_path / "a"))
    (b,) = expert_trajectories(digits, recipe, num_experts=1, seed=0, device=CPU,
                               artifact=local_artifact(tmp_path / "b"))
    torch.testing.assert_close(a.all_snapshots(), b.all_snapshots())
