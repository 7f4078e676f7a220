"""The target's classifier teacher for knowledge distillation: training, saving, loading, refusals."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from kdss_bench.data.image_set import ImageSet, build_image_set
from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import CheckpointError
from kdss_bench.models.resnet import CifarResNet
from kdss_bench.train.recipes import TargetTeacherRecipe
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.target_teacher import load_target_teacher, save_target_teacher, train_target_teacher

SMALL = "convnet_16_32_bn"
SHAPE = (3, 16, 16)


@pytest.fixture(scope="module")
def digits() -> ImageSet:
    return load_dataset("digits", resolution=16)


def _outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


def test_trains_well_above_chance_in_a_few_epochs(digits, tmp_path):
    events = []
    recipe = TargetTeacherRecipe(epochs=4, batch_size=32, lr=0.05)
    model, record = train_target_teacher(digits, recipe, arch=SMALL, seed=0, device="cpu",
                                         emit=lambda kind, **kw: events.append((kind, kw)))
    assert record["accuracy"] >= 50.0  # chance is 10%
    assert record["iterations"] == 4 * 32 and record["epochs"] == 4 and record["arch"] == SMALL
    assert record["wall_s"] > 0 and record["images_per_s"] > 0
    assert set(record) == {"arch", "accuracy", "test_loss", "train_loss", "epochs", "iterations", "images_per_s",
                           "wall_s"}
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert events[-1][0] == "metric" and events[-1][1]["accuracy"] == record["accuracy"]
    assert [kw["step"] for kind, kw in events if kind == "progress"][:2] == [10, 20]

    path = save_target_teacher(model, tmp_path / "sub" / "teacher.pt")
    loaded = load_target_teacher(path, arch=SMALL, num_classes=10, in_shape=SHAPE)
    x = torch.randn(5, *SHAPE)
    assert torch.equal(_outputs(loaded, x), _outputs(model, x))
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert not list(tmp_path.glob("sub/.*.tmp"))  # written atomically


def test_same_seed_same_teacher(digits):
    recipe = TargetTeacherRecipe(epochs=1, batch_size=64)
    a, ra = train_target_teacher(digits, recipe, arch="convnet_8_16_bn", seed=3, device="cpu")
    b, rb = train_target_teacher(digits, recipe, arch="convnet_8_16_bn", seed=3, device="cpu")
    assert (ra["accuracy"], ra["test_loss"], ra["train_loss"]) == (rb["accuracy"], rb["test_loss"], rb["train_loss"])
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_the_default_arch_is_the_official_resnet18(digits, tmp_path):
    few = build_image_set("digits128", digits.x_train[:128], digits.y_train[:128], digits.x_test[:64],
                          digits.y_test[:64], digits.classes, 16)
    model, record = train_target_teacher(few, TargetTeacherRecipe(epochs=1, batch_size=64), seed=0, device="cpu")
    assert isinstance(model, CifarResNet) and model.fc.out_features == 10 and record["arch"] == "resnet18"
    assert model.conv1.kernel_size == (3, 3) and model.conv1.padding == (2, 2)
    assert isinstance(model.maxpool, nn.Identity)
    assert record["iterations"] == 2
    loaded = load_target_teacher(save_target_teacher(model, tmp_path / "t.pt"), num_classes=10, in_shape=SHAPE)
    x = torch.randn(3, *SHAPE)
    assert torch.equal(_outputs(loaded, x), _outputs(model, x))


def test_reads_the_official_teacher_cifar10_format(tmp_path):
    """``test_kd.py:71-73``: a bare state dict of get_model("resnet18", (3, 64, 64), 10), fc included."""
    official = build_seeded_model("resnet18", in_shape=(3, 64, 64), num_outputs=10, seed=1)
    with torch.no_grad():
        official.train()(torch.randn(4, 3, 64, 64))  # BN running statistics away from their initial values
    bare, wrapped = tmp_path / "teacher_cifar10.pt", tmp_path / "wrapped.pt"
    torch.save(official.state_dict(), bare)
    torch.save({"state_dict": official.state_dict()}, wrapped)
    x = torch.randn(2, 3, 64, 64)
    for path in (bare, wrapped):
        loaded = load_target_teacher(path, arch="resnet18", num_classes=10, in_shape=(3, 64, 64))
        assert torch.equal(_outputs(loaded, x), _outputs(official, x))
    ours = tmp_path / "ours.pt"
    save_target_teacher(official, ours)
    saved = torch.load(ours, weights_only=True)
    assert list(saved) == list(official.state_dict()) and "fc.weight" in saved  # the same bare format


def _problem(path, **kwargs) -> str:
    options = {"arch": SMALL, "num_classes": 10, "in_shape": SHAPE, **kwargs}
    with pytest.raises(CheckpointError) as caught:
        load_target_teacher(path, **options)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_wrong_checkpoint_is_one_line_naming_the_problem(tmp_path):
    model = build_seeded_model(SMALL, in_shape=SHAPE, num_outputs=10, seed=0)
    good = save_target_teacher(model, tmp_path / "good.pt")
    assert "not found" in _problem(tmp_path / "missing.pt")

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert "cannot be read" in _problem(garbage)

    pickled = tmp_path / "module.pt"
    with pickled.open("wb") as fh:
        pickle.dump(nn.Linear(2, 2), fh, protocol=2)
    assert "cannot be read" in _problem(pickled)

    not_a_state = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_a_state)
    assert "does not hold a state dict" in _problem(not_a_state)

    assert "fc.weight (10, 512) vs (7, 512)" in _problem(good, num_classes=7)
    assert "shape mismatches (file vs model) layers.0.block.0.weight (16, 3, 3, 3) vs (8, 3, 3, 3)" in _problem(
        good, arch="convnet_8_16_bn")
    assert "unexpected keys" in _problem(good, arch="resnet18")

    backbone = tmp_path / "backbone.pt"
    torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}, backbone)
    assert "no classifier head" in _problem(backbone)
