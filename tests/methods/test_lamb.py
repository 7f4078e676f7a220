"""LAMB (FRePo's optimiser): an Adam direction rescaled to the parameter's own norm."""

from __future__ import annotations

import torch

from kdss_bench.methods.lamb import Lamb


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
