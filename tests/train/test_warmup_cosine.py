from __future__ import annotations

import pytest
import torch

from kdss_bench.train.warmup_cosine import warmup_cosine_factor, warmup_cosine_schedule


def test_factor_rises_linearly_then_follows_half_a_cosine_to_zero():
    warmup, total = 10, 110
    assert [warmup_cosine_factor(s, warmup, total) for s in (0, 1, 5, 9)] == pytest.approx([0.0, 0.1, 0.5, 0.9])
    assert warmup_cosine_factor(10, warmup, total) == pytest.approx(1.0)
    assert warmup_cosine_factor(60, warmup, total) == pytest.approx(0.5)  # half-way through the decay
    assert warmup_cosine_factor(35, warmup, total) == pytest.approx(0.5 * (1 + 2**-0.5))  # a quarter of the way
    assert warmup_cosine_factor(110, warmup, total) == pytest.approx(0.0, abs=1e-12)
    assert 0 < warmup_cosine_factor(109, warmup, total) < 1e-3
    decay = [warmup_cosine_factor(s, warmup, total) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


def test_no_warmup_starts_at_the_full_rate():
    assert warmup_cosine_factor(0, 0, 50) == pytest.approx(1.0)


def test_schedule_sets_the_optimiser_rate_step_by_step():
    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=2.0)
    sched = warmup_cosine_schedule(opt, warmup=4, total=12)
    rates = []
    for _ in range(12):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [2.0 * warmup_cosine_factor(s, 4, 12) for s in range(12)]
    assert rates == pytest.approx(expected)
    assert rates[:5] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
