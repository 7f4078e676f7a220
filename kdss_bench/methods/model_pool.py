"""The pool of inner models that KRR-ST draws its feature extractors from.

Each model is trained online on the current synthetic set (one full-batch SGD step each time it
is used) and replaced by a fresh one after ``online_iterations`` steps, so the kernel sees models
at every stage of training on X_s (official ``model_pool.py``; docs/method-notes.md#krr_st).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

RESET_MODES = ("paper", "official")


class ModelPool:
    """``size`` models with step counters, warm-started for U{1..T-1} steps.

    ``reset="paper"`` resets a replaced model's counter to 0, the paper's stated intent.
    ``reset="official"`` reproduces the released code, which never resets it: once a model reaches
    T it is replaced by an untrained network every time it is drawn.
    """

    def __init__(self, build: Callable[[], nn.Module], *, size: int, online_iterations: int,
                 optimizer: str = "sgd", lr: float = 0.1, weight_decay: float = 1e-3,
                 reset: str = "paper", rng: np.random.Generator,
                 precision: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext):
        if reset not in RESET_MODES:
            raise ValueError(f"pool reset must be one of {RESET_MODES}, got {reset!r}")
        if online_iterations < 2:
            raise ValueError("online_iterations must be at least 2 (warm start draws from U{1..T-1})")
        self.build = build
        self.size = size
        self.online_iterations = online_iterations
        self.optimizer_name = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.reset = reset
        self.rng = rng
        self.precision = precision
        """Context for the online steps' forward pass (bf16 autocast in KRR-ST's bf16 precision)."""
        self.models = [build() for _ in range(size)]
        self.optimizers = [self._make_optimizer(m) for m in self.models]
        self.iterations = [0] * size
        self.reinitialisations = 0

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)
        return torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def online_step(self, idx: int, x_syn: torch.Tensor, y_syn: torch.Tensor) -> float:
        """One full-batch training step of model ``idx`` on (X_s, Y_s); returns its loss."""
        model, optimizer = self.models[idx], self.optimizers[idx]
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with self.precision():
            prediction = model(x_syn)
        loss = F.mse_loss(prediction.float(), y_syn)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def warm_start(self, x_syn: torch.Tensor, y_syn: torch.Tensor,
                   on_model: Callable[[int, int], None] | None = None) -> list[int]:
        """Train model i for t_i ~ U{1..T-1} full-batch steps and set its counter to t_i."""
        x_syn, y_syn = x_syn.detach(), y_syn.detach()
        steps = [int(self.rng.integers(1, self.online_iterations)) for _ in range(self.size)]
        for idx, count in enumerate(steps):
            for _ in range(count):
                self.online_step(idx, x_syn, y_syn)
            self.iterations[idx] = count
            if on_model is not None:
                on_model(idx, count)
        return steps

    def update(self, idx: int, x_syn: torch.Tensor, y_syn: torch.Tensor) -> bool:
        """After an outer step with model ``idx``: re-initialise it (returns True) or train it one step."""
        if self.iterations[idx] >= self.online_iterations:
            self.models[idx] = self.build()
            self.optimizers[idx] = self._make_optimizer(self.models[idx])
            self.reinitialisations += 1
            if self.reset == "paper":
                self.iterations[idx] = 0
            return True
        self.iterations[idx] += 1
        self.online_step(idx, x_syn.detach(), y_syn.detach())
        return False

    def state_dict(self) -> dict:
        return {
            "models": [m.state_dict() for m in self.models],
            "optimizers": [o.state_dict() for o in self.optimizers],
            "iterations": list(self.iterations),
            "reinitialisations": self.reinitialisations,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        for model, optimizer, model_state, opt_state in zip(
                self.models, self.optimizers, state["models"], state["optimizers"], strict=True):
            model.load_state_dict(model_state)
            optimizer.load_state_dict(opt_state)
        self.iterations = list(state["iterations"])
        self.reinitialisations = int(state["reinitialisations"])
        self.rng.bit_generator.state = state["rng"]
