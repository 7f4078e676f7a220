"""The closed-form KRR head must equal an independently computed ridge regression."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdss_bench.methods.kernel_ridge_head import kernel_ridge_predict, ridge_lambda, solve_spd


def primal_ridge_prediction(f_real: np.ndarray, f_syn: np.ndarray, y_syn: np.ndarray, lam: float) -> np.ndarray:
    """Ridge in weight space: W = (Phi_s^T Phi_s + lam I)^-1 Phi_s^T Y, with a bias column."""
    phi_s = np.hstack([f_syn, np.ones((f_syn.shape[0], 1))])
    phi_t = np.hstack([f_real, np.ones((f_real.shape[0], 1))])
    weights = np.linalg.solve(phi_s.T @ phi_s + lam * np.eye(phi_s.shape[1]), phi_s.T @ y_syn)
    return phi_t @ weights


def test_prediction_equals_primal_ridge_solution():
    rng = np.random.default_rng(0)
    f_syn, f_real, y_syn = rng.normal(size=(12, 30)), rng.normal(size=(7, 30)), rng.normal(size=(12, 5))
    ridge = 1e-2
    lam = ridge * np.trace(np.hstack([f_syn, np.ones((12, 1))]) @ np.hstack([f_syn, np.ones((12, 1))]).T)
    expected = primal_ridge_prediction(f_real, f_syn, y_syn, lam)
    got = kernel_ridge_predict(torch.from_numpy(f_real), torch.from_numpy(f_syn), torch.from_numpy(y_syn),
                               ridge=ridge)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-8, atol=1e-10)


def test_lambda_is_scaled_trace_without_division_by_m():
    k = torch.diag(torch.tensor([1.0, 2.0, 3.0]))
    assert float(ridge_lambda(k, 1e-6)) == np.float32(6e-6)


def test_lambda_is_detached_so_no_gradient_flows_through_it():
    f = torch.randn(4, 3, requires_grad=True)
    k = f @ f.T
    assert not ridge_lambda(k, 1e-6).requires_grad


def test_interpolates_synthetic_targets_with_tiny_ridge():
    """Predicting the synthetic set itself returns Y_s when m <= p (the kernel is invertible)."""
    torch.manual_seed(0)
    f_syn, y_syn = torch.randn(5, 20, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    got = kernel_ridge_predict(f_syn, f_syn, y_syn, ridge=1e-12)
    torch.testing.assert_close(got, y_syn, rtol=1e-6, atol=1e-6)


def test_gradients_match_finite_differences():
    """ridge=0: lambda is detached on purpose, so finite differences through it would differ."""
    torch.manual_seed(0)
    f_real = torch.randn(4, 6, dtype=torch.float64)
    f_syn = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    y_syn = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda fs, ys: kernel_ridge_predict(f_real, fs, ys, ridge=0.0),
                                    (f_syn, y_syn))


@pytest.mark.parametrize("solver", ["cholesky", "lu"])
def test_both_solvers_give_the_primal_solution(solver):
    rng = np.random.default_rng(1)
    f_syn, f_real, y_syn = rng.normal(size=(10, 40)), rng.normal(size=(6, 40)), rng.normal(size=(10, 4))
    phi = np.hstack([f_syn, np.ones((10, 1))])
    expected = primal_ridge_prediction(f_real, f_syn, y_syn, 1e-3 * np.trace(phi @ phi.T))
    got = kernel_ridge_predict(torch.from_numpy(f_real), torch.from_numpy(f_syn), torch.from_numpy(y_syn),
                               ridge=1e-3, solver=solver)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-8, atol=1e-10)


def test_cholesky_falls_back_to_lu_on_an_indefinite_matrix():
    """fp32 rounding can make K_ss + lambda I numerically indefinite; the solve must still answer."""
    matrix = torch.tensor([[1.0, 2.0], [2.0, 1.0]])  # symmetric, eigenvalues 3 and -1
    rhs = torch.tensor([[1.0], [0.0]])
    torch.testing.assert_close(solve_spd(matrix, rhs, "cholesky"), torch.linalg.solve(matrix, rhs))


def test_unknown_solver_is_refused():
    with pytest.raises(ValueError, match="solver"):
        solve_spd(torch.eye(2), torch.ones(2, 1), "qr")


def test_kernel_runs_in_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    f_syn, f_real, y_syn = torch.randn(8, 16), torch.randn(5, 16), torch.randn(8, 3)
    expected = kernel_ridge_predict(f_real, f_syn, y_syn)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = kernel_ridge_predict(f_real.bfloat16(), f_syn.bfloat16(), y_syn)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=0.1, atol=0.1)  # only the bf16 inputs differ


def test_cholesky_solve_gradients_match_finite_differences_and_lu():
    """The hand-written backward (reusing the factor) must give what autograd through LU gives."""
    torch.manual_seed(0)
    f = torch.randn(6, 9, dtype=torch.float64)
    matrix = (f @ f.T + 0.5 * torch.eye(6, dtype=torch.float64)).requires_grad_(True)
    rhs = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    # a symmetric perturbation keeps the matrix SPD, as it is in KRR-ST
    assert torch.autograd.gradcheck(lambda a, b: solve_spd((a + a.T) / 2, b, "cholesky"), (matrix, rhs))
    weights = torch.randn(6, 3, dtype=torch.float64)
    grads = {}
    for solver in ("cholesky", "lu"):
        grads[solver] = torch.autograd.grad((solve_spd(matrix, rhs, solver) * weights).sum(), [matrix, rhs])
    for got, want in zip(grads["cholesky"], grads["lu"], strict=True):
        torch.testing.assert_close(got, want)
