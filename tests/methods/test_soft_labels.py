"""kdss_bench.methods.soft_labels: centred one-hot labels, KIP's and FRePo's regression targets."""

from __future__ import annotations

import torch

from kdss_bench.methods.soft_labels import centred_one_hot


def test_centred_one_hot_has_one_minus_one_over_c_at_the_label():
    labels = centred_one_hot(torch.tensor([2, 0]), 4)
    torch.testing.assert_close(labels, torch.tensor([[-0.25, -0.25, 0.75, -0.25], [0.75, -0.25, -0.25, -0.25]]))


def test_rows_sum_to_zero_so_a_zero_prediction_is_the_class_prior():
    labels = centred_one_hot(torch.tensor([0, 1, 2, 9, 9], dtype=torch.int32), 10)
    assert labels.dtype == torch.float32 and labels.shape == (5, 10)
    torch.testing.assert_close(labels.sum(1), torch.zeros(5), atol=1e-6, rtol=0)
    assert torch.equal(labels.argmax(1), torch.tensor([0, 1, 2, 9, 9]))
    assert centred_one_hot(torch.tensor([0]), 1).tolist() == [[0.0]]  # one class: nothing to tell apart
