"""MTT's expert trajectories: networks trained on the real source set, a snapshot per epoch, cached.

Trajectory matching needs, for every expert, its parameters at the start and after every epoch of
ordinary training on the full real set (the official ``buffer.py``): cross-entropy on the source
labels, plain SGD (lr 0.01, no momentum, no weight decay, no schedule), batch 256 reshuffled every
epoch, DSA on every batch with per-image random parameters, on mean/std-normalised images (no
ZCA: the KRR-ST evaluation has none). Experts do not depend on the distillation, so each one is
an artifact of its own, keyed by everything that determines it: a second run, another cell seed
or a larger ``num_experts`` reuses the experts already trained.

On disk an expert is ``trajectory.safetensors`` (one float32 tensor, (epochs + 1, P): row e holds
the flat parameters after e epochs, in ``named_parameters`` order) and ``expert.json`` (losses,
accuracies, training time). Rows are read lazily, so the distillation holds two rows, not the
whole buffer (at the paper's scale 100 experts x 51 snapshots of a 2.3M-parameter ConvNet-3 are
about 47 GB).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.data.image_set import ImageSet
from kdss_bench.errors import CheckpointError
from kdss_bench.methods.context import Artifact
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.intermediates import Intermediate
from kdss_bench.train.augment import normalize, to_float
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.dsa_augment import DiffAugment, DsaParams
from kdss_bench.train.evaluate import accuracy_and_loss
from kdss_bench.train.progress import Emit
from kdss_bench.train.seeding import build_seeded_model, derive_seed

ARTIFACT_NAME = "mtt_experts"
TRAJECTORY_FILE = "trajectory.safetensors"
STATS_FILE = "expert.json"
TRAJECTORY_KEY = "trajectory"
EXPERT_FORMAT = 1
"""Bumped when the way experts are trained or stored changes (it is part of the cache key)."""


@dataclass(frozen=True)
class ExpertRecipe:
    """How one expert is trained (``buffer.py`` defaults)."""

    model: str
    train_epochs: int = 50
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 256
    dsa: bool = True
    dsa_strategy: str = "color_crop_cutout_flip_scale_rotate"


def expert_seed(seed: int, index: int) -> int:
    """Seed of expert ``index`` of the buffer seeded ``seed`` (init, batch order and DSA derive from it)."""
    return derive_seed(seed, f"mtt_expert:{index}")


def expert_parts(source: ImageSet, recipe: ExpertRecipe, *, seed: int, index: int) -> dict:
    """Everything that determines an expert's trajectory: its cache key."""
    return {
        "format": EXPERT_FORMAT, "protocol_version": PROTOCOL_VERSION,
        "source": source.name, "source_fingerprint": source.fingerprint(), "resolution": source.resolution,
        "num_outputs": source.num_classes, "recipe": dataclasses.asdict(recipe),
        "dsa_params": dataclasses.asdict(DsaParams()), "seed": int(seed), "index": int(index),
    }


def train_expert(source: ImageSet, recipe: ExpertRecipe, *, seed: int, device: torch.device,
                 on_epoch: Callable[[int, float], None] | None = None) -> tuple[Tensor, dict]:
    """Trains one expert; returns its trajectory (epochs + 1, P) on the CPU and its training record."""
    started = time.perf_counter()
    in_shape = tuple(source.x_train.shape[1:])
    model = build_seeded_model(recipe.model, in_shape=in_shape, num_outputs=source.num_classes,
                               seed=seed).to(device)
    model.train()
    layout = FlatParameters(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay)
    batches = ShuffledBatchStream((source.x_train.to(device), source.y_train.to(device)), recipe.batch_size,
                                  seed=derive_seed(seed, "batches"))
    augment = DiffAugment(recipe.dsa_strategy) if recipe.dsa else None
    augment_generator = torch.Generator().manual_seed(derive_seed(seed, "dsa"))
    snapshots = [layout.flatten().cpu()]
    train_loss, train_accuracy = [], []
    for epoch in range(recipe.train_epochs):
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for _ in range(batches.batches_per_pass):
            x_uint8, y = next(batches)
            x = normalize(to_float(x_uint8), source.mean, source.std)
            if augment is not None:
                x = augment(x, generator=augment_generator)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().double() * y.shape[0]
            correct += (logits.detach().argmax(1) == y).sum()
        snapshots.append(layout.flatten().cpu())
        n = source.x_train.shape[0]
        train_loss.append(float(loss_sum.item()) / n)
        train_accuracy.append(100.0 * int(correct.item()) / n)
        if on_epoch is not None:
            on_epoch(epoch + 1, train_loss[-1])
    test_accuracy, test_loss = (accuracy_and_loss(model, source.x_test, source.y_test, source.mean, source.std)
                                if source.x_test.shape[0] else (None, None))
    record = {
        "parameters": layout.size, "parameter_names": layout.names, "epochs": recipe.train_epochs,
        "train_loss": train_loss, "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy, "test_loss": test_loss,
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return torch.stack(snapshots), record


def save_expert(folder: Path, trajectory: Tensor, record: dict) -> None:
    from safetensors.torch import save_file

    save_file({TRAJECTORY_KEY: trajectory.contiguous()}, str(folder / TRAJECTORY_FILE))
    (folder / STATS_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


class ExpertTrajectory:
    """One stored expert; :meth:`snapshot` reads a single epoch's row from disk."""

    def __init__(self, folder: Path) -> None:
        from safetensors import safe_open

        self.folder = Path(folder)
        path = self.folder / TRAJECTORY_FILE
        stats = self.folder / STATS_FILE
        if not path.is_file() or not stats.is_file():
            raise CheckpointError(f"{self.folder}: expert trajectory incomplete (need {TRAJECTORY_FILE} and "
                                  f"{STATS_FILE}); delete the folder to retrain the expert")
        self.record = json.loads(stats.read_text(encoding="utf-8"))
        self._path = path
        with safe_open(str(path), framework="pt") as handle:
            shape = handle.get_slice(TRAJECTORY_KEY).get_shape()
        self.num_snapshots, self.num_parameters = int(shape[0]), int(shape[1])

    def snapshot(self, epoch: int, device: torch.device | str = "cpu") -> Tensor:
        """The flat parameters after ``epoch`` epochs (0 = initialisation), float32 on ``device``."""
        from safetensors import safe_open

        if not 0 <= epoch < self.num_snapshots:
            raise IndexError(f"epoch {epoch} outside the {self.num_snapshots} snapshots of {self.folder}")
        with safe_open(str(self._path), framework="pt") as handle:
            row = handle.get_slice(TRAJECTORY_KEY)[epoch : epoch + 1]
        return row.reshape(-1).to(device=device, dtype=torch.float32)

    def all_snapshots(self) -> Tensor:
        """The whole trajectory (epochs + 1, P) on the CPU (tests and inspection)."""
        return torch.stack([self.snapshot(e) for e in range(self.num_snapshots)])


def expert_intermediates(source: ImageSet, recipe: ExpertRecipe, *, num_experts: int, seed: int,
                         device: torch.device | None) -> list[Intermediate]:
    """The buffer's experts as intermediates: what the plan schedules, one stage per expert."""
    pieces = []
    for index in range(num_experts):
        def build(folder: Path, emit: Emit | None, index: int = index) -> None:
            def on_epoch(epoch: int, loss: float) -> None:
                if emit is not None:
                    emit("progress", step=epoch, total=recipe.train_epochs, phase="mtt_experts",
                         expert=index, experts=num_experts, loss=loss)

            trajectory, record = train_expert(source, recipe, seed=expert_seed(seed, index), device=device,
                                              on_epoch=on_epoch)
            save_expert(folder, trajectory, record)

        size = {"artifact": ARTIFACT_NAME, "train_images": int(source.x_train.shape[0]),
                "resolution": source.resolution, "recipe": dataclasses.asdict(recipe)}
        pieces.append(Intermediate(ARTIFACT_NAME, expert_parts(source, recipe, seed=seed, index=index),
                                   f"mtt expert {index + 1}/{num_experts}", size, build))
    return pieces


def expert_trajectories(source: ImageSet, recipe: ExpertRecipe, *, num_experts: int, seed: int,
                        device: torch.device, artifact: Artifact, emit: Emit | None = None) -> list[ExpertTrajectory]:
    """The ``num_experts`` experts of the buffer seeded ``seed``: cached ones are loaded, missing ones trained."""
    pieces = expert_intermediates(source, recipe, num_experts=num_experts, seed=seed, device=device)
    experts = []
    for piece in pieces:
        folder = artifact(piece.artifact, piece.parts, lambda target, piece=piece: piece.build(target, emit))
        experts.append(ExpertTrajectory(folder))
    return experts
