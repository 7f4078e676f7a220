"""Iterative methods show their synthetic images at the start, periodically and at the end (preview.npz)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.registry import load_method, method_info
from kdss_bench.store.preview_file import preview_grid, read_preview, write_preview
from kdss_bench.teacher.backbone import build_teacher_backbone

BUDGET = 20
# one method per shared loop: KRR-ST, ClassImageRun (DM), SoftLabelRun (KIP), MTT
TINY = {
    "krr_st": {"outer_steps": 3, "real_batch": 16, "pool_size": 2, "online_iterations": 3, "checkpoint_every": 0},
    "dm": {"iterations": 3, "batch_real": 8},
    "kip": {"outer_steps": 3, "target_batch": 20, "kernel_models": 1},
    "mtt": {"iterations": 3, "num_experts": 1, "train_epochs": 2, "expert_epochs": 1, "max_start_epoch": 1,
            "syn_steps": 2, "batch_syn": 10},
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.mark.parametrize("name", list(TINY))
def test_distillation_writes_previews_at_start_periodically_and_at_the_end(name, digits, tmp_path):
    path = tmp_path / "preview.npz"
    shown = []

    def preview(images, step=None, total=None):  # what the runner's preview does, recording each file
        write_preview(path, images.detach().float().cpu().numpy(), step=step, total=total)
        shown.append(read_preview(path))

    torch.manual_seed(0)
    teacher = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)
    ctx = DistillContext(source=digits, teacher=teacher if name == "krr_st" else None, budget=BUDGET,
                         settings=method_info(name).settings(**TINY[name]), model="convnet_8_16_bn", seed=0,
                         device=torch.device("cpu"), work_dir=tmp_path / "work", teacher_id="tiny",
                         artifact=local_artifact(tmp_path / "artifacts"), preview=preview)
    result = load_method(name).distill(ctx)
    assert [(step, total) for _, step, total in shown] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    first, last = shown[0][0], shown[-1][0]
    assert last.shape == (BUDGET, 16, 16, 3) and last.dtype == np.uint8
    assert (last == preview_grid(result.images.numpy())).all(), "the last preview is the returned set"
    assert (first != last).any(), "the images changed while they were optimised"


def test_previews_are_sparse_on_long_runs(digits):
    calls = []
    ctx = DistillContext(source=digits, teacher=None, budget=BUDGET, settings=method_info("dm").settings(),
                         model="convnet_8_16_bn", seed=0, device=torch.device("cpu"),
                         preview=lambda images, step=None, total=None: calls.append(step))
    for step in range(1000):
        ctx.show_images_if_due(torch.zeros(1, 3, 2, 2), step, 1000)
    assert calls == list(range(0, 1000, 50)), "every total // 20 steps, never at the end (shown separately)"
