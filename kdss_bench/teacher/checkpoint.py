"""Teacher checkpoints in the authors' format: a bare ``state_dict`` of the backbone (no ``fc``).

Loading uses ``weights_only=True``, so a file that needs arbitrary pickled objects (a whole
pickled ``nn.Module``, say) is refused instead of executed, and ``strict`` loading, so a
checkpoint for another architecture fails loudly instead of silently half-loading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from kdss_bench.errors import CheckpointError
from kdss_bench.models.state_dict_file import read_state_dict, save_state_dict, state_dict_problems
from kdss_bench.teacher.backbone import build_teacher_backbone, freeze_teacher


def _check_matches(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, arch: str) -> None:
    problems = state_dict_problems(model, state)[2]
    if problems:
        raise CheckpointError(
            f"teacher checkpoint {path} does not match arch {arch!r}: {'; '.join(problems)}; "
            "pass the arch and input shape the teacher was trained with"
        )


def load_teacher_checkpoint(
    path: str | os.PathLike[str], arch: str = "resnet18", in_shape: tuple[int, int, int] = (3, 32, 32)
) -> nn.Module:
    """Build the ``arch`` teacher, load ``path`` strictly, and return it frozen on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"teacher checkpoint {path} not found; pass the path of a .pt state dict")
    state = read_state_dict(path, "teacher checkpoint")
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the global RNG as it was
        model = build_teacher_backbone(arch, in_shape)
    _check_matches(model, state, path, arch)
    model.load_state_dict(state, strict=True)
    return freeze_teacher(model)


def save_teacher_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write the backbone's state dict (``fc.*`` dropped, CPU tensors) atomically to ``path``."""
    state = {k: v for k, v in model.state_dict().items() if not (k == "fc" or k.startswith("fc."))}
    return save_state_dict(state, path)
