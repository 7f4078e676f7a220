"""LAMB, the optimiser FRePo's official code uses for the distilled images and labels.

Written to ``optax.lamb``'s defaults (b1 0.9, b2 0.999, eps 1e-6, no weight decay): a
bias-corrected Adam direction, rescaled per parameter tensor by the trust ratio
||param|| / ||update|| (1 when either norm is zero), times the learning rate. For FRePo the
images form one tensor and the labels another, so each moves by about lr times its own norm per
step whatever the gradient's scale. torch has no LAMB, hence this small implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


class Lamb(torch.optim.Optimizer):
    """Layer-wise adaptive moments (You et al. 2020) with optax.lamb's update rule."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid LAMB hyperparameters lr={lr} betas={betas} eps={eps} "
                             f"weight_decay={weight_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                t = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(param.grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
                update = (exp_avg / (1 - beta1 ** t)) / ((exp_avg_sq / (1 - beta2 ** t)).sqrt() + group["eps"])
                if group["weight_decay"]:
                    update.add_(param, alpha=group["weight_decay"])
                param_norm, update_norm = param.norm(), update.norm()
                usable = (param_norm > 0) & (update_norm > 0)
                ratio = torch.where(usable, param_norm / update_norm.clamp_min(1e-30), torch.ones_like(param_norm))
                param.add_(update * ratio, alpha=-group["lr"])
        return loss
