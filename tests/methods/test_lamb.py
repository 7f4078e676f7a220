"""LAMB (FRePo's optimiser): an Adam direction rescaled to the parameter's own norm."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.lamb import Lamb

from .reference_lamb import ReferenceLamb


def test_first_step_moves_each_tensor_by_lr_times_its_norm_whatever_the_gradient_scale():
    for grad_scale in (1e-4, 1e3):
        big = torch.full((4, 4), 3.0, requires_grad=True)
        small = torch.tensor([0.1, -0.2], requires_grad=True)
        before = big.detach().clone(), small.detach().clone()
        optimizer = Lamb([big, small], lr=0.01)
        big.grad = grad_scale * torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
        small.grad = grad_scale * torch.tensor([1.0, 1.0])
        optimizer.step()
        for param, start in zip((big, small), before, strict=True):
            moved = (param.detach() - start).norm()
            assert abs(moved / start.norm() - 0.01) < 1e-4


def test_a_zero_parameter_takes_a_plain_adam_sized_step():
    param = torch.zeros(3, requires_grad=True)
    optimizer = Lamb([param], lr=0.5)
    param.grad = torch.tensor([2.0, -2.0, 0.0])
    optimizer.step()
    torch.testing.assert_close(param.detach(), torch.tensor([-0.5, 0.5, 0.0]), atol=1e-5, rtol=0)


# --- step by step against the plain statement of the update (reference_lamb.py) ---------------------------

def _compare(params: list[torch.Tensor], grads_per_step: list[list[torch.Tensor | None]], **hyper) -> ReferenceLamb:
    reference = ReferenceLamb([p.detach().double().flatten().tolist() for p in params], **hyper)
    optimizer = Lamb(params, **hyper)
    for step, grads in enumerate(grads_per_step, start=1):
        for param, grad in zip(params, grads, strict=True):
            param.grad = None if grad is None else grad.clone()
        optimizer.step()
        reference.step([None if g is None else g.double().flatten().tolist() for g in grads])
        for k, param in enumerate(params):
            expected = torch.tensor(reference.params[k], dtype=torch.float64).view_as(param)
            torch.testing.assert_close(param.detach().double(), expected, rtol=2e-5, atol=1e-6,
                                       msg=lambda m, k=k, step=step: f"tensor {k}, step {step}: {m}")
            if param.grad is not None:
                assert optimizer.state[param]["step"] == reference.t[k]
    return reference


def _grads(shapes, steps, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [[scale * torch.randn(*shape, generator=g) for shape in shapes] for _ in range(steps)]


def test_matches_the_reference_over_several_steps_at_the_defaults():
    g = torch.Generator().manual_seed(1)
    params = [torch.randn(3, 4, generator=g).requires_grad_(True), torch.randn(5, generator=g).requires_grad_(True)]
    reference = _compare(params, _grads([(3, 4), (5,)], steps=6), lr=0.01)
    assert all(ratio is not None and ratio != 1.0 for ratio in reference.ratios), "the trust ratio was exercised"


def test_matches_the_reference_with_weight_decay_other_betas_and_a_large_eps():
    g = torch.Generator().manual_seed(2)
    params = [torch.randn(6, generator=g).requires_grad_(True)]
    _compare(params, _grads([(6,)], steps=5, seed=3, scale=1e-3), lr=0.05, betas=(0.5, 0.9), eps=1e-3,
             weight_decay=0.1)


def test_edge_cases_zero_parameter_zero_gradient_and_a_missing_gradient_match_the_reference():
    zero = torch.zeros(4, requires_grad=True)  # ||w|| = 0: ratio 1, a plain Adam-sized step
    still = torch.tensor([1.0, -2.0], requires_grad=True)  # ||u|| = 0 at first: ratio 1, no move
    skipped = torch.tensor([3.0, 4.0], requires_grad=True)  # no gradient at step 2: untouched, step count kept
    g = torch.Generator().manual_seed(4)
    steps = [
        [torch.randn(4, generator=g), torch.zeros(2), torch.randn(2, generator=g)],
        [torch.randn(4, generator=g), torch.tensor([0.5, 0.0]), None],
        [torch.randn(4, generator=g), torch.tensor([0.0, -1.0]), torch.randn(2, generator=g)],
    ]
    reference = _compare([zero, still, skipped], steps, lr=0.1)
    assert reference.t == [3, 3, 2]


def test_bias_correction_makes_the_first_update_the_sign_of_the_gradient():
    """At t = 1, m_hat = g and v_hat = g^2: u = g / (|g| + eps), so each entry of u is about +-1."""
    param = torch.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    param.grad = torch.tensor([1e-3, -5.0, 200.0, -0.5])
    Lamb([param], lr=0.1).step()
    # ||w|| = 2, ||u|| ~= 2: ratio ~1, so w moves by ~0.1 * sign(g)
    torch.testing.assert_close(param.detach(), torch.tensor([0.9, 1.1, 0.9, 1.1]), atol=1e-3, rtol=0)


def test_bad_hyperparameters_are_refused():
    for kwargs in ({"lr": -1.0}, {"eps": -1e-6}, {"weight_decay": -0.1}, {"betas": (1.0, 0.999)},
                   {"betas": (0.9, -0.1)}):
        with pytest.raises(ValueError, match="invalid LAMB hyperparameters"):
            Lamb([torch.zeros(1, requires_grad=True)], **kwargs)


def test_a_closure_is_evaluated_with_gradients_enabled_and_its_loss_returned():
    param = torch.tensor([2.0], requires_grad=True)
    optimizer = Lamb([param], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (param ** 2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert float(loss.detach()) == 4.0 and float(param.detach()) < 2.0
