"""The closed-form linear head of KRR-ST: kernel ridge regression on the inner model's features.

With the feature extractor fixed, the best linear head for the synthetic set has a closed form,
so the outer loss can be differentiated through it without unrolling any inner training.
"""

from __future__ import annotations

import torch


def append_ones(features: torch.Tensor) -> torch.Tensor:
    """Add the constant-1 column that carries the head's bias (the official code's choice)."""
    ones = torch.ones(features.shape[0], 1, dtype=features.dtype, device=features.device)
    return torch.cat([features, ones], dim=1)


def ridge_lambda(k_ss: torch.Tensor, ridge: float) -> torch.Tensor:
    """lambda = ridge * tr(K_ss), detached, with no division by m (as the official code)."""
    return ridge * torch.trace(k_ss.detach())


def kernel_ridge_predict(f_real: torch.Tensor, f_syn: torch.Tensor, y_syn: torch.Tensor,
                         ridge: float = 1e-6) -> torch.Tensor:
    """Predict targets of the real batch: K_ts (K_ss + lambda I)^-1 Y_s with a linear kernel.

    ``f_real`` (n, p) and ``f_syn`` (m, p) are features without the bias column; gradients flow
    to ``f_syn`` and ``y_syn``.
    """
    f_syn = append_ones(f_syn)
    f_real = append_ones(f_real)
    k_ss = f_syn @ f_syn.T
    k_ts = f_real @ f_syn.T
    eye = torch.eye(k_ss.shape[0], dtype=k_ss.dtype, device=k_ss.device)
    alpha = torch.linalg.solve(k_ss + ridge_lambda(k_ss, ridge) * eye, y_syn)
    return k_ts @ alpha
