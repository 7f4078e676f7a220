"""MKDT's linear evaluation: a full-batch L-BFGS logistic regression on frozen features.

Follows ``evaluation/linear_evaluation.py`` of ``jiayini1119/MKDT`` (HEAD ``eaf200e``): the frozen
backbone encodes the (label-fraction) training images once (``le_run``, lines 118-126), a fresh
``nn.Linear`` is fitted by ``steps`` calls of ``torch.optim.LBFGS`` with torch's defaults (lr 1,
``max_iter`` 20 function evaluations per call, history 100) to cross-entropy plus
``l2 * ||W||^2`` on the weight only (``train_clf``, lines 10-39), and the test split is classified
once (``test_clf``). Features come from the backbone in eval mode here and in the official code
(its ConvNet uses instance norm, which has no running statistics, so the mode changes nothing
there; for a BatchNorm backbone eval mode is the one that does not depend on the batch). The
head is the model's own fresh ``fc`` (seeded), so the result is an ordinary classifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.train.evaluate import EvalResult
from kdss_bench.train.linear_probe import extract_features
from kdss_bench.train.progress import Emit, LossReporter, synchronize
from kdss_bench.train.transfer import build_target_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet


@dataclass(frozen=True)
class LbfgsProbeRecipe:
    steps: int = 20
    """``optimizer.step(closure)`` calls (``eval.py --le_iters 20``)."""
    max_iter: int = 20
    """Function evaluations per call (torch's default, which the official code keeps)."""
    l2: float = 1e-3
    """Weight of ``||W||^2`` (``train_clf(reg_weight=1e-3)``); the bias is not penalised."""


def lbfgs_probe(model_name: str, init: nn.Module | None, target: ImageSet, recipe: LbfgsProbeRecipe, *, seed: int,
                device: torch.device | str, emit: Emit | None = None) -> EvalResult:
    """Probes ``init``'s backbone (None: a random-init one) on ``target``; ``init`` is not modified."""
    device = torch.device(device)
    model = build_target_model(model_name, init, target, seed=seed).to(device)
    model.requires_grad_(False)
    head: nn.Linear = model.fc
    head.requires_grad_(True)
    features = extract_features(model, target.x_train, target.mean, target.std, device=device)
    labels = target.y_train.to(device)
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=recipe.max_iter)
    reporter = LossReporter(emit, total=recipe.steps, every=1)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(head(features), labels) + recipe.l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    synchronize(device)
    started = time.perf_counter()
    for step in range(1, recipe.steps + 1):
        loss = optimizer.step(closure)
        reporter.record(step, loss)
    synchronize(device)
    elapsed = time.perf_counter() - started
    return EvalResult.tested(model, target, train_loss=reporter.last_mean, iterations=recipe.steps,
                             images=features.shape[0] * recipe.steps, elapsed=elapsed, device=device, emit=emit)
