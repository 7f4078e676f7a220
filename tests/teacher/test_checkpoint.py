"""Teacher checkpoints: round trip, strict loading, weights_only, and the shared real teacher."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.errors import CheckpointError
from kdss_bench.teacher import (
    build_teacher_backbone,
    load_teacher_checkpoint,
    save_teacher_checkpoint,
    teacher_feature_dim,
    teacher_features,
)

SHARED_TEACHER = "teacher_bt_resnet18_cifar10src.pt"


def _trained_like(arch: str, in_shape: tuple[int, int, int], seed: int = 0) -> torch.nn.Module:
    """A backbone with non-default BN running stats, so a round trip must carry buffers too."""
    torch.manual_seed(seed)
    model = build_teacher_backbone(arch, in_shape)
    model.train()
    with torch.no_grad():
        model(torch.randn(8, *in_shape) * 3 + 1)
    return model.eval()


@pytest.mark.parametrize(("arch", "in_shape"), [("convnet_8_16_bn", (3, 16, 16)), ("resnet10", (3, 16, 16))])
def test_save_then_load_gives_identical_outputs(
    tmp_path: Path, arch: str, in_shape: tuple[int, int, int]
) -> None:
    model = _trained_like(arch, in_shape)
    path = save_teacher_checkpoint(model, tmp_path / "sub" / "teacher.pt")

    loaded = load_teacher_checkpoint(path, arch=arch, in_shape=in_shape)

    x = torch.randn(4, *in_shape)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["teacher.pt"]  # no temp file left


def test_saved_state_dict_has_no_head(tmp_path: Path) -> None:
    model = torch.nn.Sequential()
    model.add_module("body", torch.nn.Linear(2, 3))
    model.add_module("fc", torch.nn.Linear(3, 4))
    save_teacher_checkpoint(model, tmp_path / "t.pt")
    assert set(torch.load(tmp_path / "t.pt", weights_only=True)) == {"body.weight", "body.bias"}


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_wrapped_state_dicts_load(tmp_path: Path, wrapper: str) -> None:
    model = _trained_like("convnet_4_bn", (3, 8, 8))
    torch.save({wrapper: model.state_dict(), "epoch": 3}, tmp_path / "t.pt")
    loaded = load_teacher_checkpoint(tmp_path / "t.pt", arch="convnet_4_bn", in_shape=(3, 8, 8))
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_strict_load_error_names_the_file_and_keys(tmp_path: Path) -> None:
    state = _trained_like("convnet_4_bn", (3, 8, 8)).state_dict()
    state["projector.0.weight"] = torch.zeros(2, 2)
    del state["layers.0.block.1.running_var"]
    path = tmp_path / "odd.pt"
    torch.save(state, path)

    with pytest.raises(CheckpointError) as info:
        load_teacher_checkpoint(path, arch="convnet_4_bn", in_shape=(3, 8, 8))
    message = str(info.value)
    assert str(path) in message
    assert "missing keys layers.0.block.1.running_var" in message
    assert "unexpected keys projector.0.weight" in message
    assert "\n" not in message


def test_wrong_arch_lists_only_the_first_few_keys(tmp_path: Path) -> None:
    path = tmp_path / "convnet.pt"
    save_teacher_checkpoint(_trained_like("convnet_4_bn", (3, 8, 8)), path)
    with pytest.raises(CheckpointError, match=r"arch 'resnet10'.*\(\+\d+ more\)"):
        load_teacher_checkpoint(path, arch="resnet10")


def test_shape_mismatch_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "wide.pt"
    save_teacher_checkpoint(_trained_like("convnet_8_bn", (3, 8, 8)), path)
    with pytest.raises(
        CheckpointError, match=r"shape mismatches .*layers\.0\.block\.0\.weight \(8, 3, 3, 3\)"
    ):
        load_teacher_checkpoint(path, arch="convnet_4_bn", in_shape=(3, 8, 8))


def test_missing_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_teacher_checkpoint(tmp_path / "absent.pt")


def test_pickled_module_is_refused_by_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(build_teacher_backbone("convnet_4_bn", (3, 8, 8)), path)  # a whole module, not a state dict
    with pytest.raises(CheckpointError, match="weights_only") as info:
        load_teacher_checkpoint(path, arch="convnet_4_bn", in_shape=(3, 8, 8))
    message = str(info.value)
    assert str(path) in message and "PooledConvNetTrunk" in message  # the refused class, named
    assert "\n" not in message and "\x1b" not in message


def test_garbage_and_non_state_dict_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_teacher_checkpoint(garbage)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty or truncated"):
        load_teacher_checkpoint(empty)
    a_list = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], a_list)
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_teacher_checkpoint(a_list)


@pytest.mark.data
def test_shared_real_teacher_loads_and_gives_512d_features(data_root: Path) -> None:
    path = data_root / SHARED_TEACHER
    if not path.is_file():
        pytest.skip(f"{path} not found")
    teacher = load_teacher_checkpoint(path, arch="resnet18")

    assert teacher_feature_dim(teacher) == 512
    x = torch.randn(3, 3, 32, 32)
    features = teacher_features(teacher, x, batch_size=2)
    assert features.shape == (3, 512)
    assert torch.isfinite(features).all()
    assert features.std(dim=0).mean() > 0  # not a constant map: trained weights arrived
    with torch.no_grad():
        torch.testing.assert_close(features, teacher(x))
