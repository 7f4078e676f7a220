"""A plain statement of the official KRR-ST outer step (algorithms/distill.py + model_pool.py),
kept as a test oracle and as the baseline of the speed benchmarks.

Written for clarity, not speed, the way the official code does it: float32 contiguous tensors,
the teacher as given (BatchNorm unfused), the ones column appended to the features, an explicit
``torch.eye`` each step, ``torch.linalg.solve``, then one SGD step of the pool model on the new
X_s. ``reference_outer_loss`` is the loss alone in float64 with an explicit inverse. Nothing here
uses the package's KRR code, so a faster step can be checked against it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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


def reference_step_loss_and_grads(model, teacher, x_syn, y_syn, x_real):
    """Steps 1-6 of the official step on an already augmented real batch: loss and (dX_s, dY_s)."""
    model.eval()
    teacher.eval()
    with torch.no_grad():
        y_real = teacher(x_real)
    f_syn = model.embed(x_syn)
    f_syn = torch.cat([f_syn, torch.ones(f_syn.shape[0], 1)], dim=1)
    with torch.no_grad():
        f_real = model.embed(x_real)
        f_real = torch.cat([f_real, torch.ones(f_real.shape[0], 1)], dim=1)
    k_real_syn = f_real @ f_syn.permute(1, 0).contiguous()
    k_syn_syn = f_syn @ f_syn.permute(1, 0).contiguous()
    lam = 1e-6 * torch.trace(k_syn_syn.detach())
    eye = torch.eye(k_syn_syn.shape[0])
    loss = F.mse_loss(k_real_syn @ torch.linalg.solve(k_syn_syn + lam * eye, y_syn), y_real)
    grads = torch.autograd.grad(loss, [x_syn, y_syn])
    return loss, grads


def reference_pool_update(model, optimizer, x_syn, y_syn):
    """The official online step of the pool model: train mode, full batch, MSE, one SGD step."""
    model.train()
    optimizer.zero_grad()
    loss = F.mse_loss(model(x_syn), y_syn)
    loss.backward()
    optimizer.step()


class ReferenceKrrStep:
    """The whole official outer step with its state: pool, outer optimiser, real data stream.

    For timing against the package's step: the pool's warm start is replaced by step counters
    (the work of a step does not depend on how far a pool model has trained).
    """

    def __init__(self, build_model, teacher, x_syn, y_syn, real_images, augment, *, real_batch, pool_size=10,
                 online_iterations=1000, seed=0):
        self.build_model, self.teacher, self.augment = build_model, teacher.eval(), augment
        self.x_syn = x_syn.detach().clone().requires_grad_(True)
        self.y_syn = y_syn.detach().clone().requires_grad_(True)
        self.optimizer = torch.optim.AdamW([self.x_syn, self.y_syn], lr=1e-4, weight_decay=0.0)
        self.models = [build_model() for _ in range(pool_size)]
        self.optimizers = [self._sgd(m) for m in self.models]
        self.online_iterations = online_iterations
        self.generator = torch.Generator().manual_seed(seed)
        self.iterations = [int(i) for i in torch.randint(1, online_iterations, (pool_size,), generator=self.generator)]
        self.real_images = real_images.float().div(255)  # the official loaders hold float tensors
        self.real_batch = real_batch

    @staticmethod
    def _sgd(model):
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)

    def step(self) -> float:
        self.optimizer.zero_grad()
        idx = int(torch.randint(len(self.models), (1,), generator=self.generator))
        model = self.models[idx]
        pick = torch.randint(len(self.real_images), (self.real_batch,), generator=self.generator)
        with torch.no_grad():
            x_real = self.augment(self.real_images[pick], generator=self.generator)
        loss, (grad_x, grad_y) = reference_step_loss_and_grads(model, self.teacher, self.x_syn, self.y_syn, x_real)
        self.x_syn.grad, self.y_syn.grad = grad_x, grad_y
        self.optimizer.step()
        if self.iterations[idx] >= self.online_iterations:
            self.models[idx] = self.build_model()
            self.optimizers[idx] = self._sgd(self.models[idx])
        else:
            self.iterations[idx] += 1
            reference_pool_update(model, self.optimizers[idx], self.x_syn.detach(), self.y_syn.detach())
        return float(loss.detach())
