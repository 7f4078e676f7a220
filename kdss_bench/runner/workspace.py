"""What the stage jobs of one process share: the suite's datasets, loaded teachers, the artifact cache.

A worker process runs many stage jobs; each gets a fresh :class:`Workspace` (nothing of one
cell survives into the next), while the expensive reads behind it are cached per process:
datasets by ``data.registry.load_dataset``, teachers here by their key and device.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from torch import nn

from kdss_bench.config import Suite
from kdss_bench.data.image_set import ImageSet
from kdss_bench.data.registry import load_dataset
from kdss_bench.store.artifact_cache import ArtifactCache

TEACHER_FILE = "teacher.pt"
TARGET_TEACHER_FILE = "classifier.pt"
TARGET_TEACHER_RECORD = "classifier.json"
BACKBONE_FILE = "backbone.safetensors"
CACHE_FOLDER = ".cache"

_TEACHERS: dict[tuple[str, str], nn.Module] = {}
"""(key, device) -> a loaded teacher: the self-supervised target model and the targets' classifiers."""
_TEACHERS_LOCK = threading.Lock()


class Workspace:
    def __init__(self, suite: Suite, results_root: str | Path, device: torch.device) -> None:
        self.suite = suite
        self.results_root = Path(results_root)
        self.device = device
        self.cache = ArtifactCache(self.results_root / CACHE_FOLDER)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return (3, self.suite.resolution, self.suite.resolution)

    def image_set(self, name: str) -> ImageSet:
        return load_dataset(name, resolution=self.suite.resolution, data_root=self.suite.data_root,
                            declared=self.suite.datasets)

    @property
    def source(self) -> ImageSet:
        return self.image_set(self.suite.source)

    def teacher(self, key: str) -> nn.Module:
        """The frozen teacher of key ``key`` on this device (from the checkpoint or the cache), loaded once."""
        from kdss_bench.teacher.checkpoint import load_teacher_checkpoint

        with _TEACHERS_LOCK:
            cached = _TEACHERS.get((key, str(self.device)))
            if cached is not None:
                return cached
            spec = self.suite.teacher
            if spec.kind == "checkpoint":  # the user's file: a problem with it is theirs to fix (CheckpointError)
                teacher = load_teacher_checkpoint(spec.checkpoint, arch=spec.arch, in_shape=self.in_shape)
            else:  # a teacher this project trained: a damaged one is rebuilt
                teacher = self.cache.load("teacher", key, lambda folder: load_teacher_checkpoint(
                    folder / TEACHER_FILE, arch=spec.arch, in_shape=self.in_shape))
            # channels_last: same math, about 1.3x faster convolutions on CPU (and the Tensor Core layout on CUDA)
            teacher = teacher.to(self.device, memory_format=torch.channels_last).eval()
            _TEACHERS[(key, str(self.device))] = teacher
            return teacher

    def target_teacher(self, key: str, target: str) -> nn.Module:
        """The classifier teacher of ``target`` for ``eval: kd`` (a checkpoint, or trained by its stage)."""
        from kdss_bench.train.target_teacher import load_target_teacher

        with _TEACHERS_LOCK:
            cached = _TEACHERS.get((f"target:{key}", str(self.device)))
            if cached is not None:
                return cached
            spec, classes = self.suite.kd_teacher, self.image_set(target).num_classes
            if spec["checkpoint"]:
                teacher = load_target_teacher(spec["checkpoint"], arch=spec["arch"], num_classes=classes,
                                              in_shape=self.in_shape)
            else:
                teacher = self.cache.load("target_teacher", key, lambda folder: load_target_teacher(
                    folder / TARGET_TEACHER_FILE, arch=spec["arch"], num_classes=classes, in_shape=self.in_shape))
            teacher = teacher.to(self.device)
            _TEACHERS[(f"target:{key}", str(self.device))] = teacher
            return teacher
