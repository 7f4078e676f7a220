"""The closed-form linear head of KRR-ST: kernel ridge regression on the inner model's features.

With the feature extractor fixed, the best linear head for the synthetic set has a closed form,
so the outer loss can be differentiated through it without unrolling any inner training.
"""

from __future__ import annotations

import torch

SOLVERS = ("cholesky", "lu")
"""``cholesky``: the system K_ss + lambda I is symmetric positive definite, so a Cholesky factor
solves it in about half the work of LU (falling back to LU where fp32 rounding breaks
definiteness); ``lu``: ``torch.linalg.solve``, the official code's call. Same math."""


def ridge_lambda(k_ss: torch.Tensor, ridge: float) -> torch.Tensor:
    """lambda = ridge * tr(K_ss), detached, with no division by m (as the official code)."""
    return ridge * torch.trace(k_ss.detach())


class _CholeskySolve(torch.autograd.Function):
    """X = A^-1 B from a Cholesky factor of A, with a backward that reuses the factor.

    Autograd through ``torch.linalg.cholesky`` differentiates the factorisation itself, which
    costs several times the forward pass (measured: slower than LU's backward at m >= 1000).
    For a symmetric A the gradients are simply dB = A^-1 dX (one more pair of triangular solves
    with the same factor) and dA = -dB X^T, the same values ``torch.linalg.solve`` gives.
    """

    @staticmethod
    def forward(ctx, matrix: torch.Tensor, rhs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        solution = torch.cholesky_solve(rhs, factor)
        ctx.save_for_backward(factor, solution)
        return solution

    @staticmethod
    def backward(ctx, grad_solution: torch.Tensor):
        factor, solution = ctx.saved_tensors
        grad_rhs = torch.cholesky_solve(grad_solution, factor)
        grad_matrix = -grad_rhs @ solution.mT if ctx.needs_input_grad[0] else None
        return grad_matrix, grad_rhs, None


def solve_spd(matrix: torch.Tensor, rhs: torch.Tensor, solver: str = "cholesky") -> torch.Tensor:
    """``matrix^-1 rhs`` for a symmetric positive definite ``matrix``, differentiable in both."""
    if solver == "cholesky":
        factor, info = torch.linalg.cholesky_ex(matrix.detach())
        if int(info) == 0:
            return _CholeskySolve.apply(matrix, rhs, factor)
    elif solver != "lu":
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return torch.linalg.solve(matrix, rhs)


def kernel_ridge_predict(f_real: torch.Tensor, f_syn: torch.Tensor, y_syn: torch.Tensor,
                         ridge: float = 1e-6, solver: str = "cholesky") -> torch.Tensor:
    """Predict targets of the real batch: K_ts (K_ss + lambda I)^-1 Y_s with a linear kernel.

    ``f_real`` (n, p) and ``f_syn`` (m, p) are features without the bias column; gradients flow
    to ``f_syn`` and ``y_syn``. The official code appends a column of ones to both (the head's
    bias); that adds exactly 1 to every kernel entry, which is what is done here, without
    copying the (m + n) x p features. The kernel and the solve always run in at least fp32,
    also under bf16 autocast, because a bf16 kernel loses the small eigenvalues.
    """
    dtype = torch.promote_types(f_syn.dtype, torch.float32)
    with torch.autocast(f_syn.device.type, enabled=False):
        f_syn, f_real, y_syn = f_syn.to(dtype), f_real.to(dtype), y_syn.to(dtype)
        k_ss = torch.addmm(torch.ones((), dtype=dtype, device=f_syn.device), f_syn, f_syn.T)
        k_ts = torch.addmm(torch.ones((), dtype=dtype, device=f_syn.device), f_real, f_syn.T)
        system = k_ss.clone()
        system.diagonal().add_(ridge_lambda(k_ss, ridge))  # + lambda I without building I
        return k_ts @ solve_spd(system, y_syn, solver)
