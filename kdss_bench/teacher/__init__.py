"""SSL teacher models: Barlow Twins training, checkpoint loading, batched feature extraction."""

from __future__ import annotations

from kdss_bench.teacher.backbone import build_teacher_backbone, freeze_teacher, teacher_feature_dim
from kdss_bench.teacher.barlow_twins import barlow_twins_loss, train_barlow_twins
from kdss_bench.teacher.checkpoint import load_teacher_checkpoint, save_teacher_checkpoint
from kdss_bench.teacher.features import teacher_features

__all__ = [
    "barlow_twins_loss",
    "build_teacher_backbone",
    "freeze_teacher",
    "load_teacher_checkpoint",
    "save_teacher_checkpoint",
    "teacher_feature_dim",
    "teacher_features",
    "train_barlow_twins",
]
