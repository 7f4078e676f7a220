"""KIP/FRePo kernel ridge regression: the trace-relative ridge."""

from __future__ import annotations

import torch

from kdss_bench.methods.kernel_regression import kernel_regression_predict, trace_scaled_ridge


def test_prediction_is_the_closed_form_with_lambda_proportional_to_the_mean_diagonal():
    g = torch.Generator().manual_seed(0)
    f_s, f_t, y_s = torch.randn(5, 8, generator=g), torch.randn(3, 8, generator=g), torch.randn(5, 4, generator=g)
    k_ss, k_ts = f_s @ f_s.T, f_t @ f_s.T
    lam = 0.1 * torch.trace(k_ss) / 5
    expected = k_ts @ torch.linalg.inv(k_ss + lam * torch.eye(5)) @ y_s
    torch.testing.assert_close(kernel_regression_predict(k_ss, k_ts, y_s, 0.1), expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(trace_scaled_ridge(k_ss, -0.1), lam)
    # rescaling the kernel leaves the prediction unchanged
    torch.testing.assert_close(kernel_regression_predict(7 * k_ss, 7 * k_ts, y_s, 0.1), expected,
                               rtol=1e-4, atol=1e-5)

