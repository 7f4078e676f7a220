"""Kernel ridge regression as KIP and FRePo write it, given the kernel matrices.

Both official codes (KIP colab ``loss_acc_fn``, FRePo ``nfr``) regularise with
lambda = |reg| * tr(K_ss) / m, so the ridge is relative to the kernel's average diagonal and the
prediction does not change when the kernel is rescaled. Unlike KRR-ST's head
(``kernel_ridge_head.py``: a ones column for the bias, lambda = ridge * tr(K) without /m and
detached) there is no bias column and the trace is part of the graph, as in the JAX code.
The m x m system is solved in float64 (the KIP colab enables x64; RFAD solves in double):
it is small and the learned images can make K_ss badly conditioned.
"""

from __future__ import annotations

import torch


def trace_scaled_ridge(k_ss: torch.Tensor, reg: float) -> torch.Tensor:
    """lambda = |reg| * tr(K_ss) / m (differentiable)."""
    return abs(reg) * torch.trace(k_ss) / k_ss.shape[0]


def kernel_regression_predict(k_ss: torch.Tensor, k_ts: torch.Tensor, y_s: torch.Tensor,
                              reg: float) -> torch.Tensor:
    """K_ts (K_ss + lambda I)^-1 Y_s for K_ss (m, m), K_ts (n, m), Y_s (m, C); returns K_ts's dtype."""
    k_ss64 = k_ss.to(torch.float64)
    eye = torch.eye(k_ss64.shape[0], dtype=torch.float64, device=k_ss64.device)
    alpha = torch.linalg.solve(k_ss64 + trace_scaled_ridge(k_ss64, reg) * eye, y_s.to(torch.float64))
    return (k_ts.to(torch.float64) @ alpha).to(k_ts.dtype)
