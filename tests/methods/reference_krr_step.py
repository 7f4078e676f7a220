"""A plain statement of the official KRR-ST outer loss (algorithms/distill.py), kept as a test oracle.

Written for clarity, not speed: float64, an explicit inverse instead of a solve, no shared helpers
from the package, so an optimised outer step can be checked against it.
"""

from __future__ import annotations

import torch


def reference_outer_loss(model, x_syn, y_syn, x_real, y_real, ridge=1e-6):
    with torch.no_grad():
        f_real = model.embed(x_real).double()
    f_syn = model.embed(x_syn).double()
    f_real = torch.cat([f_real, torch.ones(len(f_real), 1, dtype=torch.float64)], dim=1)
    f_syn = torch.cat([f_syn, torch.ones(len(f_syn), 1, dtype=torch.float64)], dim=1)
    k_real_syn = f_real @ f_syn.t()
    k_syn_syn = f_syn @ f_syn.t()
    lam = ridge * torch.trace(k_syn_syn.detach())
    inverse = torch.inverse(k_syn_syn + lam * torch.eye(len(f_syn), dtype=torch.float64))
    prediction = k_real_syn @ inverse @ y_syn.double()
    return ((prediction - y_real.double()) ** 2).mean()
