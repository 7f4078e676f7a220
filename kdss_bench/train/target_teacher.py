"""The target's classifier teacher for knowledge distillation (``kd``): train it, save it, load it.

The official Table 4 teacher is ``get_model("resnet18", (3, 64, 64), 10)`` -- the ResNet18 with
the CIFAR stem (3x3 stride-1 padding-2 ``conv1``, no max-pool; ``models/resnet.py:276-280``,
``resnet18`` in our registry) and a 10-way ``fc`` -- loaded from ``teacher_ckpt/teacher_cifar10.pt``
with ``teacher.load_state_dict(torch.load(path))`` (``test_kd.py:71-73``). So that file is a
**bare** state dict (no wrapper key) of the whole classifier, ``fc.weight`` / ``fc.bias``
included, with torchvision's parameter names, loaded strictly. :func:`save_target_teacher` writes
the same format, and :func:`load_target_teacher` reads both (plus a state dict wrapped under
``state_dict`` or ``model``).

The code that trained the official teacher is not released; :func:`train_target_teacher` trains
one with :class:`~kdss_bench.train.recipes.TargetTeacherRecipe` (ours: a standard supervised CIFAR
ResNet recipe), through the fine-tuning loop from a random initialisation.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kdss_bench.errors import CheckpointError
from kdss_bench.models.state_dict_file import read_state_dict, save_state_dict, state_dict_problems
from kdss_bench.train.finetune import finetune_model
from kdss_bench.train.progress import Emit
from kdss_bench.train.recipes import FinetuneRecipe, TargetTeacherRecipe
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import HEAD_PREFIX

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet



def train_target_teacher(
    target: ImageSet,
    recipe: TargetTeacherRecipe,
    *,
    arch: str = "resnet18",
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Trains a randomly initialised ``arch`` classifier of ``target``'s classes on its train split.

    ``recipe.epochs`` passes of ``ceil(n_train / batch_size)`` SGD steps on crop (padding 4) + flip
    augmented, normalised batches, cosine-annealed per step to 0, then one eval-mode test on the
    test split (the fine-tuning loop, :func:`~kdss_bench.train.finetune.finetune_model`). Emits
    ``progress`` (loss, lr) every 10 iterations and a final ``metric`` event.

    Returns the teacher (on ``device``, eval mode, parameters frozen: ready for
    :func:`~kdss_bench.train.knowledge_distillation.knowledge_distill`) and a record: ``arch``,
    ``accuracy`` (test top-1, percent), ``test_loss``, ``train_loss`` (last 10 iterations),
    ``epochs``, ``iterations``, ``images_per_s`` and ``wall_s`` (training and test).
    """
    started = time.perf_counter()
    model = build_seeded_model(
        arch, in_shape=(3, target.resolution, target.resolution), num_outputs=target.num_classes, seed=seed
    )
    iterations = recipe.epochs * math.ceil(int(target.y_train.shape[0]) / recipe.batch_size)
    loop = FinetuneRecipe(
        iterations=iterations, batch_size=recipe.batch_size, lr=recipe.lr, momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )
    result = finetune_model(model, target, loop, seed=seed, device=device, emit=emit)
    record = {
        "arch": arch,
        "accuracy": result.accuracy,
        "test_loss": result.loss,
        "train_loss": result.train_loss,
        "epochs": recipe.epochs,
        "iterations": iterations,
        "images_per_s": result.images_per_s,
        "wall_s": time.perf_counter() - started,
    }
    return _frozen(model), record


def save_target_teacher(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Writes the classifier's whole state dict (head included, CPU tensors) atomically to ``path``.

    The official ``teacher_cifar10.pt`` format: a bare ``{name: tensor}`` mapping.
    """
    return save_state_dict(model.state_dict(), path)


def load_target_teacher(
    path: str | os.PathLike[str],
    *,
    arch: str = "resnet18",
    num_classes: int,
    in_shape: tuple[int, int, int],
) -> nn.Module:
    """Builds an ``arch`` classifier with ``num_classes`` outputs, loads ``path`` strictly; frozen, eval, CPU.

    Reads :func:`save_target_teacher`'s files and the authors' ``teacher_cifar10.pt`` (``arch``
    ``resnet18``, ``num_classes`` 10, ``in_shape`` (3, 64, 64)). ``torch.load(weights_only=True)``:
    a file that needs arbitrary pickled objects is refused, not executed. Every problem is one
    CheckpointError line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"target teacher checkpoint {path} not found; pass the path of a classifier state dict "
            "(e.g. the authors' teacher_cifar10.pt) or let the suite train one (kd_teacher)"
        )
    state = read_state_dict(path, "target teacher checkpoint")
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the global RNG as it was
        model = build_seeded_model(arch, in_shape=tuple(in_shape), num_outputs=num_classes, seed=0)
    _check_matches(model, state, path, arch, num_classes, tuple(in_shape))
    model.load_state_dict(state, strict=True)
    return _frozen(model)


def _frozen(model: nn.Module) -> nn.Module:
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _check_matches(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, arch: str, num_classes: int,
                   in_shape: tuple[int, ...]) -> None:
    missing, unexpected, problems = state_dict_problems(model, state)
    if not problems:
        return
    if missing and all(k.startswith(HEAD_PREFIX) for k in missing) and not unexpected:
        hint = ("it has no classifier head (fc.*), like a self-supervised feature backbone; the KD teacher is a "
                "classifier of the target's classes")
    else:
        hint = "pass the arch, number of classes and input shape the teacher was trained with"
    raise CheckpointError(
        f"target teacher checkpoint {path} does not match arch {arch!r} with {num_classes} classes at "
        f"{in_shape}: {'; '.join(problems)}; {hint}"
    )
