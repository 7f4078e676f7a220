"""Independent, reproducible random streams derived from one cell seed.

A training run draws randomness for three unrelated things: the model's initial weights, the
order of minibatches and the augmentation. Deriving a separate seed for each (by hashing the
cell seed with a purpose name) keeps them independent, so changing, say, the number of
augmentation draws never shifts the batch order, and a run is reproducible from its seed.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from kdss_bench.models.registry import build_model


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose ("model_init", "batches", "augment", ...) of a run."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def device_generator(seed: int, purpose: str, device: torch.device | str) -> torch.Generator:
    """A generator on ``device`` (ops that draw on the GPU need a GPU generator)."""
    return torch.Generator(device=torch.device(device)).manual_seed(derive_seed(seed, purpose))


def build_seeded_model(
    model_name: str, *, in_shape: tuple[int, int, int], num_outputs: int, seed: int
) -> nn.Module:
    """Builds ``model_name`` with weights drawn from ``seed`` without disturbing the global RNG.

    Module constructors draw from torch's global CPU generator, so it is seeded inside a
    fork that restores its state afterwards.
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(derive_seed(seed, "model_init"))
        return build_model(model_name, in_shape=tuple(in_shape), num_outputs=int(num_outputs))
