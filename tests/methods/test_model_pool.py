"""The model pool re-initialises on schedule, in the paper's mode and in the official (buggy) mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from kdss_bench.methods.model_pool import ModelPool


class TinyRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def make_pool(reset: str, online_iterations: int = 3, size: int = 1, seed: int = 0) -> ModelPool:
    torch.manual_seed(seed)
    return ModelPool(TinyRegressor, size=size, online_iterations=online_iterations, reset=reset,
                     rng=np.random.default_rng(seed))


@pytest.fixture
def data():
    torch.manual_seed(1)
    return torch.randn(8, 4), torch.randn(8, 2)


def test_warm_start_draws_steps_in_1_to_T_minus_1(data):
    pool = make_pool("paper", online_iterations=5, size=6)
    steps = pool.warm_start(*data)
    assert all(1 <= s <= 4 for s in steps)
    assert pool.iterations == steps


def test_paper_mode_resets_counter_and_trains_the_new_model(data):
    pool = make_pool("paper", online_iterations=3)
    pool.warm_start(*data)
    trace = []
    for _ in range(12):
        before = pool.models[0]
        reinit = pool.update(0, *data)
        trace.append((reinit, pool.iterations[0]))
        assert (pool.models[0] is not before) == reinit
    # a cycle is: train up to T=3, then one re-initialisation with the counter back at 0
    reinits = [i for i, (flag, _) in enumerate(trace) if flag]
    assert len(reinits) >= 2
    assert all(b - a == 4 for a, b in zip(reinits, reinits[1:], strict=False))
    assert all(count == 0 for flag, count in trace if flag)
    assert pool.reinitialisations == len(reinits)


def test_official_mode_keeps_replacing_the_model_once_it_reached_T(data):
    pool = make_pool("official", online_iterations=3)
    pool.warm_start(*data)
    flags = [pool.update(0, *data) for _ in range(10)]
    first = flags.index(True)
    assert all(flags[first:]), "after the first re-initialisation every use re-initialises (counter stuck at T)"
    assert pool.iterations[0] == 3


def test_update_trains_one_step_that_lowers_the_online_loss(data):
    pool = make_pool("paper", online_iterations=100)
    x, y = data
    before = torch.nn.functional.mse_loss(pool.models[0](x), y).item()
    for _ in range(20):
        pool.update(0, x, y)
    after = torch.nn.functional.mse_loss(pool.models[0](x), y).item()
    assert after < before
    assert pool.iterations[0] == 20


def test_reinitialised_model_has_fresh_weights(data):
    pool = make_pool("paper", online_iterations=2)
    pool.iterations[0] = 2
    old = pool.models[0].fc.weight.detach().clone()
    assert pool.update(0, *data)
    assert not torch.equal(old, pool.models[0].fc.weight)


def test_state_round_trip_restores_counters_and_weights(data):
    pool = make_pool("paper", online_iterations=4, size=2)
    pool.warm_start(*data)
    state = pool.state_dict()
    other = make_pool("paper", online_iterations=4, size=2, seed=5)
    other.load_state_dict(state)
    assert other.iterations == pool.iterations
    assert torch.equal(other.models[1].fc.weight, pool.models[1].fc.weight)
    assert other.rng.integers(1000) == pool.rng.integers(1000)


def test_unknown_reset_mode_is_rejected():
    with pytest.raises(ValueError, match="paper"):
        make_pool("sometimes")
