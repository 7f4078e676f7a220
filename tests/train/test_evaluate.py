from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kdss_bench.train.evaluate import accuracy_and_loss


class MeanBrightness(nn.Module):
    """Logits (-m, m) from the mean pixel m: predicts class 1 for images brighter than the mean."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3)) * self.scale
        return torch.stack([-m, m], dim=1)


def test_accuracy_and_loss_match_a_hand_computation():
    x = torch.tensor([10, 250, 240, 20], dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 3, 2, 2).contiguous()
    y = torch.tensor([0, 1, 0, 0])  # the third image is bright but labelled 0: one mistake
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    model = MeanBrightness().train()
    acc, loss = accuracy_and_loss(model, x, y, mean, std, batch_size=3)
    m = (x[:, 0, 0, 0].float() / 255 - 0.5) / 0.5
    logits = torch.stack([-m, m], dim=1)
    assert acc == pytest.approx(75.0)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert model.training  # mode restored
    assert accuracy_and_loss(model, x, y, mean, std, batch_size=1024) == pytest.approx((acc, loss))


def test_uses_eval_mode_so_batch_norm_uses_running_stats():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3, 2))
    x = torch.randint(0, 256, (6, 3, 1, 1), dtype=torch.uint8)
    y = torch.zeros(6, dtype=torch.int64)
    stats = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    one = accuracy_and_loss(model, x, y, *stats, batch_size=1)  # batch stats of size 1 would fail in train
    assert math.isfinite(one[1])
    assert torch.equal(model[0].running_mean, torch.zeros(3))  # no statistics were updated


def test_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        accuracy_and_loss(MeanBrightness(), torch.zeros(3, 3, 2, 2, dtype=torch.uint8), torch.zeros(2),
                          (0, 0, 0), (1, 1, 1))
