"""The manifest keys every distilled set carries, so results and caches can be traced to their inputs."""

from __future__ import annotations

from typing import Any

import torch

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.methods.context import DistillContext


def common_manifest(ctx: DistillContext, method: str, *, input_space: str, wall_time_s: float, steps: int,
                    loss: dict[str, Any] | None) -> dict[str, Any]:
    """The keys every method's manifest carries (source, budget, seed, settings, input space,
    normalisation, cost, versions); a method adds its own next to them."""
    return {
        "method": method, "source": ctx.source.name, "source_fingerprint": ctx.source.fingerprint(),
        "budget": ctx.budget, "seed": ctx.seed, "model": ctx.model,
        "settings": ctx.settings.as_dict(),
        "input_space": input_space,
        "normalization": {"mean": list(ctx.source.mean), "std": list(ctx.source.std)},
        "cost": {"wall_time_s": round(float(wall_time_s), 3), "steps": int(steps)},
        "loss": loss,
        "protocol_version": PROTOCOL_VERSION,
        "versions": {"torch": str(torch.__version__)},
    }
