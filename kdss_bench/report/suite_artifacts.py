"""What a suite's report draws besides the accuracies: loss curves, synthetic images and stage costs.

Everything is read from files the runner already writes, torch-free and matplotlib-free:

- loss curves from each cell's ``events.jsonl`` (progress events with a ``loss``; a stage that ran
  more than once in a cell, e.g. a re-evaluation, counts with its latest run, or with the run of the
  key its result names);
- synthetic images from the distilled set in ``<results>/.cache/distill/<key>/`` (images evenly spaced
  through the set, de-normalised as its ``manifest.yaml`` says), else from a cell's ``preview.npz`` (each image
  min-max scaled, as the dashboard shows it);
- stage costs from each artifact's ``stage.json`` (``.cache/<kind>/<key>/``) and, for the evaluation
  and where an artifact is gone, from ``result.json``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.store.artifact_cache import ArtifactCache
from kdss_bench.store.event_log import read_events
from kdss_bench.store.run_dir import RunDir, cell_folder_names

CACHE_FOLDER = ".cache"
SET_TENSORS_FILE = "distilled.safetensors"
"""The files of a distilled set (``kdss_bench.methods.distilled_set``, which imports torch: named here again)."""
SET_MANIFEST_FILE = "manifest.yaml"
STAGE_KINDS = ("teacher", "intermediate", "distill", "pretrain", "evaluate")
"""Stage kinds in pipeline order (what a cell's ``stages`` names, then its own evaluation)."""


@dataclass(frozen=True)
class LossSeries:
    """The losses one stage logged in one cell's latest run of it (or the run of ``key``)."""

    cell: str
    stage: str
    key: str | None
    """The stage's key from its ``start`` event (None when the log has no start event)."""
    steps: tuple[int, ...]
    losses: tuple[float, ...]
    total: int | None = None


def cell_losses(results_root: Path, suite: str, cell: str, stage: str) -> list[LossSeries]:
    """Every run of ``stage`` in the cell's log with at least one finite loss, one per key (its latest run)."""
    events, _ = read_events(RunDir(results_root, suite, cell).events_path)
    by_key: dict[str | None, LossSeries] = {}
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None and current["steps"]:
            by_key.pop(current["key"], None)
            by_key[current["key"]] = LossSeries(cell, stage, current["key"], tuple(current["steps"]),
                                                tuple(current["losses"]), current["total"])

    for event in events:
        if event.stage != stage:
            continue
        if event.kind == "start":
            close()
            key = event.values.get("key")
            current = {"key": str(key) if key is not None else None, "steps": [], "losses": [], "total": event.total}
        elif event.kind == "progress" and event.step is not None:
            loss = _finite(event.values.get("loss"))
            if loss is None:
                continue
            if current is None:
                current = {"key": None, "steps": [], "losses": [], "total": None}
            current["steps"].append(int(event.step))
            current["losses"].append(loss)
            if event.total is not None:
                current["total"] = int(event.total)
    close()
    return list(by_key.values())


def latest_losses(results_root: Path, suite: str, cell: str, stage: str, key: str | None = None) -> LossSeries | None:
    """The run of ``stage`` whose key is ``key`` if the log has it, else its latest run; None without losses."""
    found = cell_losses(results_root, suite, cell, stage)
    if not found:
        return None
    chosen = [series for series in found if key is not None and series.key == key]
    return chosen[-1] if chosen else found[-1]


def distill_losses(results_root: Path, suite: str, cells: Iterable[str]) -> dict[str, LossSeries]:
    """Distillation key -> its loss curve, from whichever of ``cells`` logged it (a distillation logs into
    the first cell that needed it; a later run of the same key replaces an earlier one)."""
    found: dict[str, LossSeries] = {}
    for cell in cells:
        for series in cell_losses(results_root, suite, cell, "distill"):
            if series.key is not None:
                found[series.key] = series
    return found


def suite_cells(results_root: Path, suite: str) -> list[str]:
    """The cell folders under ``<results>/<suite>`` (finished or not)."""
    folder = Path(results_root) / suite
    return cell_folder_names(folder) if folder.is_dir() else []


# -- synthetic images --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetImages:
    """The first images of a distilled set as uint8 (k, H, W, 3), and how they were made displayable."""

    images: Any
    """numpy uint8 array (k, H, W, 3)."""
    size: int | None
    """Images in the whole set (None when only a preview was found)."""
    origin: str
    """``set`` (read from the distilled set, de-normalised) or ``preview`` (a cell's preview.npz, min-max scaled)."""
    input_space: str | None = None
    clipped: float = 0.0
    """Fraction of de-normalised pixel values outside [0, 1] that were clipped (``set`` only)."""


def set_images(results_root: Path, distill_key: str, count: int = 40) -> SetImages | None:
    """``count`` images evenly spaced through the distilled set ``distill_key`` (all of a smaller set) in display
    colours, or None when the set is not in the cache (or unreadable). ``normalized`` sets are mapped back with
    the source's mean and std from the manifest; ``raw`` sets are pixels already; both are clipped to [0, 1]."""
    import numpy as np
    import yaml
    from safetensors import SafetensorError, safe_open

    folder = Path(results_root) / CACHE_FOLDER / "distill" / distill_key
    try:
        manifest = yaml.safe_load((folder / SET_MANIFEST_FILE).read_text(encoding="utf-8")) or {}
        with safe_open(str(folder / SET_TENSORS_FILE), framework="numpy") as tensors:
            images = np.asarray(tensors.get_tensor("images"), dtype=np.float32)
    except (OSError, ValueError, KeyError, yaml.YAMLError, SafetensorError):
        return None
    size = int(images.shape[0]) if images.ndim == 4 else 0
    if size > count:  # evenly spaced: a class-ordered set shows every class, not the first one's images
        images = images[np.linspace(0, size - 1, count).round().astype(int)]
    if not isinstance(manifest, dict) or images.ndim != 4 or images.shape[1] not in (1, 3):
        return None
    space = manifest.get("input_space")
    norm = manifest.get("normalization") or {}
    if space == "normalized" and isinstance(norm, dict) and norm.get("mean") is not None:
        channels = images.shape[1]
        mean = np.asarray(norm["mean"], dtype=np.float32).reshape(-1)[:channels].reshape(1, -1, 1, 1)
        std = np.asarray(norm["std"], dtype=np.float32).reshape(-1)[:channels].reshape(1, -1, 1, 1)
        images = images * std + mean
    finite = np.isfinite(images)
    images = np.where(finite, images, 0.0)
    clipped = float(np.mean((images < 0) | (images > 1))) if images.size else 0.0
    pixels = np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    if pixels.shape[1] == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    return SetImages(np.ascontiguousarray(pixels.transpose(0, 2, 3, 1)), size, "set", space, clipped)


def preview_images(results_root: Path, suite: str, cells: Iterable[str]) -> SetImages | None:
    """The preview of the first of ``cells`` that has a readable ``preview.npz``."""
    from kdss_bench.store.preview_file import read_preview

    for cell in cells:
        found = read_preview(RunDir(results_root, suite, cell).preview_path)
        if found is not None:
            return SetImages(found[0], None, "preview")
    return None


# -- stage costs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCost:
    kind: str
    key: str | None
    wall_time_s: float | None
    peak_memory_mb: float | None
    origin: str
    """``stage.json`` (the artifact's record) or ``result.json`` (the cell's result)."""


@dataclass
class CostSummary:
    """The stages behind a group of results (one table row): each distinct artifact once, every evaluation."""

    stages: dict[str, list[StageCost]] = field(default_factory=dict)
    """Kind -> its stages (distinct keys; one evaluation per result)."""

    def add(self, cost: StageCost) -> None:
        found = self.stages.setdefault(cost.kind, [])
        if cost.kind == "evaluate" or all(item.key != cost.key for item in found):
            found.append(cost)

    def total_s(self, kind: str) -> float | None:
        values = [cost.wall_time_s for cost in self.stages.get(kind, []) if cost.wall_time_s is not None]
        return math.fsum(values) if values else None

    def mean_s(self, kind: str) -> float | None:
        values = [cost.wall_time_s for cost in self.stages.get(kind, []) if cost.wall_time_s is not None]
        return math.fsum(values) / len(values) if values else None

    def peak_mb(self, kind: str) -> float | None:
        values = [cost.peak_memory_mb for cost in self.stages.get(kind, []) if cost.peak_memory_mb is not None]
        return max(values) if values else None

    def count(self, kind: str) -> int:
        return len(self.stages.get(kind, []))


def record_costs(results_root: Path, record: Mapping[str, Any]) -> list[StageCost]:
    """The cost of every stage behind one result: its upstream artifacts' ``stage.json`` (the result's
    ``stages`` keys), then its own evaluation (``stage_record``). Where an artifact's record is gone the
    result's own numbers stand in (``distill_wall_time_s``; ``eval_wall_time_s`` and ``peak_memory_mb``)."""
    cache = ArtifactCache(Path(results_root) / CACHE_FOLDER)
    costs = []
    stages = record.get("stages") if isinstance(record.get("stages"), Mapping) else {}
    for kind, keys in stages.items():
        kind = "intermediate" if kind == "intermediates" else str(kind)
        for key in keys if isinstance(keys, list) else [keys]:
            stage = _stage_record(cache, kind, str(key))
            if stage is not None:
                costs.append(StageCost(kind, str(key), _finite(stage.get("wall_time_s")),
                                       _finite(stage.get("peak_memory_mb")), "stage.json"))
            elif kind == "distill" and _finite(record.get("distill_wall_time_s")) is not None:
                costs.append(StageCost(kind, str(key), _finite(record.get("distill_wall_time_s")), None,
                                       "result.json"))
    own = record.get("stage_record") if isinstance(record.get("stage_record"), Mapping) else {}
    wall = _finite(own.get("wall_time_s"))
    wall = wall if wall is not None else _finite(record.get("eval_wall_time_s"))
    peak = _finite(own.get("peak_memory_mb"))
    peak = peak if peak is not None else _finite(record.get("peak_memory_mb"))
    costs.append(StageCost("evaluate", str(own.get("key") or record.get("config_hash") or record.get("cell")),
                           wall, peak, "result.json"))
    return costs


def _stage_record(cache: ArtifactCache, kind: str, key: str) -> dict[str, Any] | None:
    found = cache.read_stage_record(kind, key)
    if found is not None or not cache.root.is_dir():
        return found
    for folder in sorted(cache.root.iterdir()):  # intermediates live under their artifact's own name
        if folder.is_dir() and (folder / key).is_dir():
            found = cache.read_stage_record(folder.name, key)
            if found is not None:
                return found
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
