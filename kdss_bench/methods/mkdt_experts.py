"""MKDT's inputs that do not depend on the distillation: the teacher's targets and the KD experts.

**Teacher targets** (official ``get_target_rep.py``): the frozen self-supervised teacher's
features of every source training image, normalised, without augmentation, in eval mode (lines
47-55). Computed once and cached as an artifact keyed by the teacher, the source and the
normalisation.

**Expert trajectories** (official ``buffer.py``): students trained by knowledge distillation,
MSE between the student's output (a ``Linear`` head as wide as the targets, 512 for the ResNet18
teacher) and the teacher's features of the same images (``--criterion mse``, line 87), SGD (lr
0.1, momentum 0.9, weight decay 1e-4), batch 256 reshuffled every epoch with the last, smaller
batch kept, no augmentation, 20 epochs, a snapshot at the start and after every epoch (lines
50 and 60). As for MTT each expert is an artifact of its own (``expert_parts`` is its key,
``expert_builder`` builds it), so every seed and budget shares them and the runner can schedule
each as a stage. Trajectories are stored in MTT's format and read with MTT's
:class:`~kdss_bench.methods.mtt_experts.ExpertTrajectory` (one row per epoch, read lazily).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.data.image_set import ImageSet
from kdss_bench.errors import CheckpointError
from kdss_bench.methods.context import Artifact
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.mtt_experts import ExpertTrajectory, save_expert
from kdss_bench.teacher.features import teacher_features
from kdss_bench.train.augment import normalize, to_float
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.progress import Emit
from kdss_bench.train.seeding import build_seeded_model, derive_seed

EXPERTS_ARTIFACT = "mkdt_experts"
TARGETS_ARTIFACT = "mkdt_teacher_targets"
TARGETS_FILE = "targets.safetensors"
TARGETS_KEY = "targets"
EXPERT_FORMAT = 1
"""Bumped when the way experts or targets are computed or stored changes (it is part of the keys)."""
SOURCE_CHUNK = 2048
"""Source images normalised at a time, so a 50k-image source never needs a float copy of itself."""

Stats = Sequence[float]


@dataclass(frozen=True)
class KdExpertRecipe:
    """How one KD expert is trained (``buffer.py`` argparse defaults, lines 76-88)."""

    model: str
    train_epochs: int = 20
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 256


def normalized_source(source: ImageSet, mean: Stats, std: Stats, rows: slice | Tensor,
                      device: torch.device | str = "cpu") -> Tensor:
    """float32 images ``source.x_train[rows]`` / 255, normalised with ``mean``/``std``, on ``device``."""
    return normalize(to_float(source.x_train[rows].to(device)), mean, std)


def source_chunks(source: ImageSet, size: int = SOURCE_CHUNK) -> list[slice]:
    n = int(source.x_train.shape[0])
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


# --- teacher targets -----------------------------------------------------------------------------
def teacher_fingerprint(teacher: nn.Module) -> str:
    """sha256 of the teacher's weights and buffers, for a context without a teacher id."""
    digest = hashlib.sha256()
    for name, tensor in teacher.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return "weights-" + digest.hexdigest()[:16]


def target_parts(source: ImageSet, *, teacher_key: str, mean: Stats, std: Stats) -> dict:
    """Everything that determines the teacher's targets of the source: their cache key."""
    return {
        "format": EXPERT_FORMAT, "protocol_version": PROTOCOL_VERSION,
        "source": source.name, "source_fingerprint": source.fingerprint(), "resolution": source.resolution,
        "teacher": teacher_key, "mean": [float(v) for v in mean], "std": [float(v) for v in std],
    }


def compute_teacher_targets(teacher: nn.Module, source: ImageSet, mean: Stats, std: Stats, *,
                            device: torch.device, emit: Emit | None = None) -> Tensor:
    """float32 (N, d) on the CPU: the teacher's features of every normalised source image."""
    chunks = []
    for rows in source_chunks(source):
        chunks.append(teacher_features(teacher, normalized_source(source, mean, std, rows, device)).cpu())
        if emit is not None:
            emit("progress", step=rows.stop, total=int(source.x_train.shape[0]), phase="mkdt_teacher_targets")
    return torch.cat(chunks)


def targets_builder(teacher: Callable[[], nn.Module], source: ImageSet, mean: Stats, std: Stats, *,
                    device: torch.device, emit: Emit | None = None) -> Callable[[Path], None]:
    """``build(folder)`` of the teacher targets artifact (``teacher()`` loads the teacher when needed)."""
    from safetensors.torch import save_file

    def build(folder: Path) -> None:
        targets = compute_teacher_targets(teacher(), source, mean, std, device=device, emit=emit)
        save_file({TARGETS_KEY: targets.contiguous()}, str(folder / TARGETS_FILE))

    return build


def read_teacher_targets(folder: Path, source: ImageSet) -> Tensor:
    """The cached targets (N, d) on the CPU, checked against the source."""
    from safetensors.torch import load_file

    path = folder / TARGETS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; delete {path.parent} to recompute the teacher targets")
    targets = load_file(str(path))[TARGETS_KEY]
    if targets.ndim != 2 or targets.shape[0] != source.x_train.shape[0]:
        raise CheckpointError(f"{path}: {tuple(targets.shape)} targets for {source.x_train.shape[0]} source "
                              f"images; delete {path.parent} to recompute them")
    return targets


def teacher_targets(teacher: nn.Module | Callable[[], nn.Module], source: ImageSet, *, teacher_key: str,
                    mean: Stats, std: Stats, device: torch.device, artifact: Artifact,
                    emit: Emit | None = None) -> tuple[Tensor, dict]:
    """The cached teacher targets (N, d) on the CPU and their key parts; computed on the first call."""
    parts = target_parts(source, teacher_key=teacher_key, mean=mean, std=std)
    load = teacher if callable(teacher) and not isinstance(teacher, nn.Module) else (lambda: teacher)
    folder = artifact(TARGETS_ARTIFACT, parts, targets_builder(load, source, mean, std, device=device, emit=emit))
    return read_teacher_targets(folder, source), parts


# --- experts -------------------------------------------------------------------------------------
def expert_seed(seed: int, index: int) -> int:
    """Seed of expert ``index`` of the buffer seeded ``seed`` (init and batch order derive from it)."""
    return derive_seed(seed, f"mkdt_expert:{index}")


def expert_parts(recipe: KdExpertRecipe, *, targets: dict, seed: int, index: int) -> dict:
    """Everything that determines a KD expert's trajectory: its cache key.

    ``targets`` are the teacher targets' parts (source, teacher, normalisation); the distillation's
    seed and budget are not in it, so every distillation shares the experts.
    """
    return {"format": EXPERT_FORMAT, "protocol_version": PROTOCOL_VERSION, "targets": targets,
            "recipe": dataclasses.asdict(recipe), "seed": int(seed), "index": int(index)}


def train_kd_expert(source: ImageSet, targets: Tensor, recipe: KdExpertRecipe, *, mean: Stats, std: Stats,
                    seed: int, device: torch.device,
                    on_epoch: Callable[[int, float], None] | None = None) -> tuple[Tensor, dict]:
    """Trains one KD expert; returns its trajectory (epochs + 1, P) on the CPU and its training record."""
    started = time.perf_counter()
    model = build_seeded_model(recipe.model, in_shape=tuple(source.x_train.shape[1:]),
                               num_outputs=int(targets.shape[1]), seed=seed).to(device)
    model.train()
    layout = FlatParameters(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay)
    batches = ShuffledBatchStream((source.x_train.to(device), targets.to(device)), recipe.batch_size,
                                  seed=derive_seed(seed, "batches"))
    snapshots = [layout.flatten().cpu()]
    train_loss = []
    for epoch in range(recipe.train_epochs):
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for _ in range(batches.batches_per_pass):
            x_uint8, y = next(batches)
            loss = F.mse_loss(model(normalize(to_float(x_uint8), mean, std)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().double() * y.shape[0]
        snapshots.append(layout.flatten().cpu())
        train_loss.append(float(loss_sum.item()) / batches.num_samples)
        if on_epoch is not None:
            on_epoch(epoch + 1, train_loss[-1])
    record = {
        "parameters": layout.size, "parameter_names": layout.names, "epochs": recipe.train_epochs,
        "target_dim": int(targets.shape[1]), "train_loss": train_loss,
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return torch.stack(snapshots), record


def expert_builder(source: ImageSet, targets: Tensor, recipe: KdExpertRecipe, *, mean: Stats, std: Stats,
                   seed: int, index: int, num_experts: int, device: torch.device,
                   emit: Emit | None = None) -> Callable[[Path], None]:
    """``build(folder)`` of expert ``index``: trains it and writes its trajectory into ``folder``."""

    def on_epoch(epoch: int, loss: float) -> None:
        if emit is not None:
            emit("progress", step=epoch, total=recipe.train_epochs, phase="mkdt_experts", expert=index,
                 experts=num_experts, loss=loss)

    def build(folder: Path) -> None:
        trajectory, record = train_kd_expert(source, targets, recipe, mean=mean, std=std,
                                             seed=expert_seed(seed, index), device=device, on_epoch=on_epoch)
        save_expert(folder, trajectory, record)

    return build


def expert_trajectories(source: ImageSet, targets: Tensor, recipe: KdExpertRecipe, *, targets_parts: dict,
                        mean: Stats, std: Stats, num_experts: int, seed: int, device: torch.device,
                        artifact: Artifact, emit: Emit | None = None) -> list[ExpertTrajectory]:
    """The ``num_experts`` KD experts of the buffer seeded ``seed``: cached ones loaded, missing ones trained."""
    experts = []
    for index in range(num_experts):
        build = expert_builder(source, targets, recipe, mean=mean, std=std, seed=seed, index=index,
                               num_experts=num_experts, device=device, emit=emit)
        parts = expert_parts(recipe, targets=targets_parts, seed=seed, index=index)
        experts.append(ExpertTrajectory(artifact(EXPERTS_ARTIFACT, parts, build)))
    return experts
