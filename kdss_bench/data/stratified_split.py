"""Seeded, class-stratified train/test split for datasets that ship without one."""

from __future__ import annotations

import numpy as np


def stratified_split(labels: np.ndarray, num_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), each sorted, with every class split in the same proportion.

    Per-class train counts are ``num_train * class_size / N`` rounded by largest remainder so
    they sum to exactly ``num_train``; which samples go where is drawn from a numpy Generator
    seeded with ``seed``, so the split is the same on every machine and numpy version.
    """
    labels = np.asarray(labels)
    total = len(labels)
    if not 0 < num_train < total:
        raise ValueError(f"num_train must lie in (0, {total}), got {num_train}")
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * (num_train / total)
    per_class = np.floor(exact).astype(np.int64)
    shortfall = num_train - int(per_class.sum())
    # Largest remainder; ties go to the lower class index (stable argsort) for determinism.
    order = np.argsort(-(exact - per_class), kind="stable")
    per_class[order[:shortfall]] += 1

    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for cls, take in zip(classes, per_class, strict=True):
        members = np.flatnonzero(labels == cls)
        shuffled = rng.permutation(members)
        train_parts.append(shuffled[:take])
        test_parts.append(shuffled[take:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


def per_class_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` samples of every class present in ``labels`` (a K-shot subset).

    A class with fewer than ``per_class`` samples keeps all of them. Each class's members are
    permuted by a numpy Generator seeded with ``seed`` (classes in ascending label order) and the
    first ``per_class`` are kept, so the draw is the same on every machine, and for one seed a
    smaller subset is contained in a larger one (5 per class is a subset of 10 per class).
    """
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = [rng.permutation(np.flatnonzero(labels == cls))[:per_class] for cls in np.unique(labels)]
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(parts))
