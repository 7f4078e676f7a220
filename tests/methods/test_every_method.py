"""Every registered method distils a tiny real problem into a valid set (timm-style registry test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.registry import load_method, method_info, method_names, needs_teacher
from kdss_bench.teacher.backbone import build_teacher_backbone

BUDGET = 20  # 2 images per class of the 10 digits
MANIFEST_KEYS = {"method", "source", "budget", "seed", "model", "settings", "input_space", "normalization", "cost"}

# the smallest settings that still run each method's real algorithm end to end
TINY = {
    "krr_st": {"outer_steps": 3, "real_batch": 16, "pool_size": 2, "online_iterations": 3, "checkpoint_every": 0},
    "mkdt": {"iterations": 2, "num_experts": 2, "train_epochs": 2, "expert_epochs": 1, "max_start_epoch": 1,
             "syn_steps": 2, "batch_syn": 10},
    "random": {},
    "kmeans": {"iterations": 5},
    "import": {},  # path filled in by the fixture
    "dsa": {"iterations": 2, "outer_loop": 1, "inner_loop": 1, "batch_real": 8},
    "dm": {"iterations": 2, "batch_real": 8},
    "mtt": {"iterations": 2, "num_experts": 1, "train_epochs": 2, "expert_epochs": 1, "max_start_epoch": 1,
            "syn_steps": 2, "batch_syn": 10},
    "kip": {"outer_steps": 2, "target_batch": 20, "kernel_models": 2},
    "frepo": {"outer_steps": 2, "real_batch": 16, "pool_size": 2, "max_online_updates": 3, "online_batch": 20},
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def released_set(tmp_path_factory, digits) -> Path:
    folder = tmp_path_factory.mktemp("released")
    torch.save(torch.rand(BUDGET, 3, 16, 16), folder / "x_syn.pt")
    torch.save(torch.arange(BUDGET) % 10, folder / "y_syn.pt")
    return folder


def tiny_settings(name: str, released: Path):
    info = method_info(name)
    overrides = dict(TINY[name])
    if name == "import":
        overrides["path"] = str(released)
    return info.settings(**overrides)


@pytest.mark.parametrize("name", [n for n in method_names() if method_info(n).implementation])
def test_method_returns_a_valid_distilled_set(name, digits, teacher, released_set, tmp_path):
    assert name in TINY, f"add tiny settings for the new method '{name}' to TINY"
    settings = tiny_settings(name, released_set)
    ctx = DistillContext(source=digits, teacher=teacher if needs_teacher(name, settings) else None,
                         budget=BUDGET, settings=settings, model="convnet_8_16_bn", seed=0,
                         device=torch.device("cpu"), work_dir=tmp_path / "work", teacher_id="tiny",
                         artifact=local_artifact(tmp_path / "artifacts"))
    result = load_method(name).distill(ctx)
    expected_kind = method_info(name).target_kind
    assert result.target_kind == (expected_kind if expected_kind != "auto" else "hard")
    assert result.images.shape == (BUDGET, 3, 16, 16) and result.images.dtype == torch.float32
    assert torch.isfinite(result.images).all()
    if result.target_kind == "hard":
        assert result.targets.shape == (BUDGET,) and result.targets.dtype == torch.int64
        assert 0 <= int(result.targets.min()) and int(result.targets.max()) < digits.num_classes
    else:
        width = digits.num_classes if result.target_kind == "soft" else int(teacher(torch.zeros(1, 3, 16, 16)).shape[1])
        assert result.targets.shape == (BUDGET, width) and torch.isfinite(result.targets).all()
    assert MANIFEST_KEYS <= set(result.manifest), MANIFEST_KEYS - set(result.manifest)
    assert result.manifest["budget"] == BUDGET and result.manifest["method"] == name
    result.save(tmp_path / "saved")  # the manifest is plain YAML and the set survives a round trip
    from kdss_bench.methods.distilled_set import DistilledSet

    again = DistilledSet.load(tmp_path / "saved")
    assert torch.equal(again.images, result.images) and torch.equal(again.targets, result.targets)
