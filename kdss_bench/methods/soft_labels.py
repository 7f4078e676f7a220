"""Centred one-hot labels: the regression targets of KIP and FRePo, and their learned labels' start.

Both official codes regress labels with a squared loss and centre the one-hot vectors by
subtracting 1/C (KIP colab ``one_hot(center=True)``; FRePo's ``y_transform`` and
``init_proto``), so an uninformative prediction of all zeros is the class prior.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def centred_one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """float32 (n, C): 1 - 1/C at the label, -1/C elsewhere."""
    one_hot = F.one_hot(labels.to(torch.int64), int(num_classes)).to(torch.float32)
    return one_hot - 1.0 / int(num_classes)
