from __future__ import annotations

import math

import pytest
import torch

from kdss_bench.train.progress import LossReporter


def test_emits_window_means_every_n_steps_and_at_the_end():
    events = []
    reporter = LossReporter(lambda kind, **kw: events.append((kind, kw)), total=7, every=3)
    assert math.isnan(reporter.last_mean)
    for step in range(1, 8):
        reporter.record(step, torch.tensor(float(step)), lr=0.5)
    assert [(kw["step"], kw["loss"]) for _, kw in events] == [(3, 2.0), (6, 5.0), (7, 7.0)]
    assert all(kind == "progress" and kw["total"] == 7 and kw["lr"] == 0.5 for kind, kw in events)
    assert reporter.last_mean == pytest.approx(7.0)


def test_without_emit_it_still_tracks_the_loss():
    reporter = LossReporter(None, total=2, every=10)
    reporter.record(1, torch.tensor(1.0))
    reporter.record(2, torch.tensor(3.0))
    assert reporter.last_mean == pytest.approx(2.0)
