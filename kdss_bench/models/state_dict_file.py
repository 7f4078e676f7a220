"""A network's weights as a file of plain tensors: the authors' checkpoint format, read safely.

Both kinds of teacher (the self-supervised feature teacher and the KD target's classifier) are
stored this way. Reading uses ``torch.load(weights_only=True)``, so a file that needs arbitrary
pickled objects is refused rather than executed, and every problem is one line naming the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from kdss_bench.errors import CheckpointError
from kdss_bench.store.atomic_write import open_atomic

WRAPPER_KEYS = ("state_dict", "model")
"""Keys under which checkpoints in the wild nest their state dict."""
_SHOWN_KEYS = 3


def read_state_dict(path: Path, what: str) -> Mapping[str, torch.Tensor]:
    """The ``{name: tensor}`` mapping in ``path`` (raw or under a wrapper key); ``what`` names the file in errors."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refusals, truncated files, non-pickles
        raise CheckpointError(
            f"{what} {path} cannot be read as a plain tensor state dict "
            f"(torch.load weights_only=True: {type(exc).__name__}: {load_error_reason(exc)}); "
            "save the state_dict, not the module"
        ) from None
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
            f"{what} {path} does not hold a state dict (name -> tensor), raw or under one of the keys "
            f"{', '.join(WRAPPER_KEYS)}; save model.state_dict()"
        )
    return obj


def state_dict_problems(model: nn.Module, state: Mapping[str, torch.Tensor]) -> tuple[list[str], list[str], list[str]]:
    """What keeps ``state`` from loading strictly into ``model``: (missing, unexpected, described problems)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing keys {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_first(unexpected)}")
    if not problems:
        mismatched = [
            f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items() if state[k].shape != v.shape
        ]
        if mismatched:
            problems.append(f"shape mismatches (file vs model) {_first(mismatched)}")
    return missing, unexpected, problems


def save_state_dict(state: Mapping[str, torch.Tensor], path: str | os.PathLike[str]) -> Path:
    """Writes ``state`` (as CPU copies) to ``path`` atomically: a crash leaves the old file or none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(path) as handle:
        torch.save({k: v.detach().to("cpu").clone() for k, v in state.items()}, handle)
    return path


def load_error_reason(exc: Exception) -> str:
    """The informative part of a ``torch.load`` error, on one line (its messages span paragraphs)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = re.split(r" was not an allowed global|\n\n", text.split(marker, 1)[1].strip(), maxsplit=1)[0]
    else:
        text = text.strip().split("\n", 1)[0]
    text = " ".join(text.split())
    if not text and isinstance(exc, EOFError):
        return "the file is empty or truncated"
    return text if len(text) <= 160 else text[:157] + "..."


def _first(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return shown + (f" (+{len(keys) - _SHOWN_KEYS} more)" if len(keys) > _SHOWN_KEYS else "")
