"""Teacher checkpoints in the authors' format: a bare ``state_dict`` of the backbone (no ``fc``).

Loading uses ``weights_only=True``, so a file that needs arbitrary pickled objects (a whole
pickled ``nn.Module``, say) is refused instead of executed, and ``strict`` loading, so a
checkpoint for another architecture fails loudly instead of silently half-loading.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from kdss_bench.errors import CheckpointError
from kdss_bench.teacher.backbone import build_teacher_backbone, freeze_teacher

WRAPPER_KEYS = ("state_dict", "model")
_SHOWN_KEYS = 3


def _first_keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return shown + (f" (+{len(keys) - _SHOWN_KEYS} more)" if len(keys) > _SHOWN_KEYS else "")


def _load_error_reason(exc: Exception) -> str:
    """The informative part of a ``torch.load`` error, on one line (its messages span paragraphs)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
        text = re.split(r" was not an allowed global|\n\n", text.strip(), maxsplit=1)[0]
    else:
        text = text.strip().split("\n", 1)[0]
    text = " ".join(text.split())
    if not text and isinstance(exc, EOFError):
        return "the file is empty or truncated"
    return text if len(text) <= 160 else text[:157] + "..."


def _unwrap_state_dict(obj: object, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    ):
        raise CheckpointError(
            f"teacher checkpoint {path} does not hold a state dict (name -> tensor), "
            f"raw or under one of the keys {', '.join(WRAPPER_KEYS)}; save it with save_teacher_checkpoint"
        )
    return obj


def _check_matches(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, arch: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing keys {_first_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_first_keys(unexpected)}")
    if not problems:
        mismatched = [
            f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
            for k, v in expected.items()
            if state[k].shape != v.shape
        ]
        if mismatched:
            problems.append(f"shape mismatches (file vs model) {_first_keys(mismatched)}")
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
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refusals, truncated files, non-pickles
        raise CheckpointError(
            f"teacher checkpoint {path} cannot be read as a plain tensor state dict "
            f"(torch.load weights_only=True: {type(exc).__name__}: {_load_error_reason(exc)}); "
            "save the state_dict, not the module"
        ) from None
    state = _unwrap_state_dict(obj, path)
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the global RNG as it was
        model = build_teacher_backbone(arch, in_shape)
    _check_matches(model, state, path, arch)
    model.load_state_dict(state, strict=True)
    return freeze_teacher(model)


def save_teacher_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write the backbone's state dict (``fc.*`` dropped, CPU tensors) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu").clone()
        for k, v in model.state_dict().items()
        if not (k == "fc" or k.startswith("fc."))
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
