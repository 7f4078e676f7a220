"""For every built-in dataset under a data root: are its files there, and at which resolutions is it prepared.

Torch-free (``kdss-bench data status`` is instant): only listings, file sizes and manifests are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kdss_bench.data.dataset_sources import SOURCES, missing_paths
from kdss_bench.data.prepared_cache import cache_state, prepared_resolutions, source_signature
from kdss_bench.data.registry import ARCHIVE_SETS, BUNDLED_SETS, NPZ_SETS, TORCHVISION_SETS, dataset_names
from kdss_bench.errors import DataError


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    kind: str  # "torchvision" | "archive" | "npz" | "bundled"
    present: bool
    files: str
    """What is there: 'yes', 'no', 'partial: 2 of 5 paths missing (...)', or why not."""
    prepared: tuple[tuple[int, str, str], ...] = ()
    """(resolution, state, reason) per cache folder; state 'valid', 'stale', 'detached' or 'absent' (unusable)."""
    needs_preparing: bool = False
    """Present, but without a valid cache (``data prepare`` would read it)."""


def kind_of(name: str) -> str:
    if name in TORCHVISION_SETS:
        return "torchvision"
    if name in ARCHIVE_SETS:
        return "archive"
    if name in NPZ_SETS:
        return "npz"
    if name in BUNDLED_SETS:
        return "bundled"
    raise DataError(f"dataset '{name}' is not built in; `kdss-bench ls datasets` lists them")


def dataset_status(name: str, root: Path) -> DatasetStatus:
    root = Path(root)
    kind = kind_of(name)
    if kind == "npz":
        path = root / f"{name}.npz"
        return DatasetStatus(name, kind, path.is_file(), "yes" if path.is_file() else f"no ({path.name} not found)")
    if kind == "bundled":
        from kdss_bench.data.bundled_sets import bundled_files

        try:
            bundled_files(name)
        except DataError as error:
            return DatasetStatus(name, kind, False, f"no ({error})")
        return DatasetStatus(name, kind, True, "yes (installed package)")
    spec = SOURCES[name]
    location = root / name
    missing = missing_paths(spec, location)
    if not missing:
        files = "yes"
    elif len(missing) == len(spec.expected):
        files = "no"
    else:
        shown = ", ".join(item.path for item in missing[:3]) + (", ..." if len(missing) > 3 else "")
        files = f"partial: {len(missing)} of {len(spec.expected)} paths missing ({shown})"
    prepared = []
    signature = None
    for resolution in prepared_resolutions(location, name):
        signature = signature or source_signature(spec, location)
        state = cache_state(spec, location, resolution, signature)
        if state.status != "absent" or state.reason:
            prepared.append((resolution, state.status, state.reason))
    valid = any(status == "valid" for _, status, _ in prepared)
    return DatasetStatus(name, kind, not missing, files, tuple(prepared), needs_preparing=not missing and not valid)


def all_statuses(root: Path) -> list[DatasetStatus]:
    return [dataset_status(name, root) for name in dataset_names()]
