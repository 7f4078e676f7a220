"""The prepared cache: a dataset's ImageSet at one resolution as uint8 ``.npy`` files, read back in seconds.

``kdss-bench data prepare`` reads the originals once per resolution and writes::

    <root>/.kdss-cache/<name>/<resolution>/x_train.npy  uint8 (N, 3, R, R)
                                          y_train.npy  int64 (N,)
                                          x_test.npy   uint8 (M, 3, R, R)
                                          y_test.npy   int64 (M,)
                                          manifest.json

The manifest (written last, atomically, after the arrays; removed first when a cache is rebuilt,
so a half-written cache has none) holds the class names, the train statistics, the ImageSet's
fingerprint, each array's shape and file size, the versions of the decoding libraries, and the
signature of the source files: their count, total size and a sha256 over every file's relative
path, size and mtime under the dataset's signed paths (:mod:`~kdss_bench.data.dataset_sources`).

:func:`cache_state` says whether a cache may stand in for the originals (no torch; validation
and ``data status`` use it): ``valid`` (the same source files, the same decoders), ``stale`` (a
source file was edited, added or removed, or torch, torchvision or Pillow changed version: the
originals are read instead, with one warning), ``detached`` (the originals are gone: the cache is
the only copy and is used), or ``absent``. :func:`read_prepared` maps the arrays copy-on-write
(the pages are read lazily and shared between processes through the page cache) and returns an
ImageSet equal, tensor for tensor, to reading the originals.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdss_bench.data.dataset_sources import CACHE_FOLDER, DatasetSources
from kdss_bench.errors import raise_if_disk_full
from kdss_bench.store.atomic_write import open_atomic, write_json_atomic

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet
    from kdss_bench.data.registry import DatasetSource

CACHE_FORMAT = 1
"""Bumped whenever a reader changes what it returns, so that older caches count as stale."""
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
MANIFEST = "manifest.json"
DECODERS = ("torch", "torchvision", "pillow")

_LOG = logging.getLogger("kdss_bench.data.prepared_cache")
_WARNED: set[str] = set()


@dataclass(frozen=True)
class SourceSignature:
    files: int
    bytes: int
    digest: str
    present: bool
    """Whether any required signed path exists (False: the originals are gone)."""

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "digest": self.digest}


@dataclass(frozen=True)
class CacheState:
    status: str  # "absent" | "valid" | "stale" | "detached"
    folder: Path
    reason: str = ""
    manifest: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        return self.status in ("valid", "detached")


def cache_root(location: Path, name: str) -> Path:
    """``<root>/.kdss-cache/<name>`` for the dataset folder ``location`` = ``<root>/<name>``."""
    return Path(location).parent / CACHE_FOLDER / name


def cache_folder(location: Path, name: str, resolution: int) -> Path:
    return cache_root(location, name) / str(resolution)


def prepared_resolutions(location: Path, name: str) -> list[int]:
    """Resolutions that have a cache folder (of any state), ascending."""
    root = cache_root(location, name)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def source_signature(spec: DatasetSources, location: Path) -> SourceSignature:
    """Count, size and digest of every file under the dataset's signed paths (hidden files skipped)."""
    location = Path(location)
    entries: list[str] = []
    files = total = 0
    present = False
    for relative in (*spec.signed, *spec.optional):
        path = location / relative
        if path.is_dir():
            present = present or relative in spec.signed
            for folder, dirs, names in os.walk(path, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(n for n in names if not n.startswith(".")):
                    full = Path(folder) / file
                    try:
                        stat = full.stat()
                    except OSError:
                        continue
                    entries.append(f"{full.relative_to(location).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}")
                    files, total = files + 1, total + stat.st_size
        elif path.is_file():
            present = present or relative in spec.signed
            stat = path.stat()
            entries.append(f"{relative}\t{stat.st_size}\t{stat.st_mtime_ns}")
            files, total = files + 1, total + stat.st_size
        else:
            entries.append(f"{relative}\tabsent")
    digest = hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()
    return SourceSignature(files=files, bytes=total, digest=digest, present=present)


@lru_cache(maxsize=1)
def decoder_versions() -> dict[str, str]:
    """Versions of the libraries whose decoding and resizing the cached pixels depend on (no imports)."""
    versions = {}
    for package in DECODERS:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def cache_state(spec: DatasetSources, location: Path, resolution: int,
                signature: SourceSignature | None = None) -> CacheState:
    """Whether the cache of ``spec`` at ``resolution`` can stand in for the originals under ``location``."""
    folder = cache_folder(location, spec.name, resolution)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return CacheState("absent", folder)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        arrays = manifest["arrays"]
        recorded = manifest["sources"]
        if manifest.get("format") != CACHE_FORMAT or manifest.get("dataset") != spec.name \
                or manifest.get("resolution") != resolution:
            return CacheState("absent", folder, f"{manifest_path} is of another format or dataset")
        for key in ARRAYS:
            file = folder / f"{key}.npy"
            if not file.is_file() or file.stat().st_size != int(arrays[key]["bytes"]):
                return CacheState("absent", folder, f"{file} is missing or has the wrong size")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return CacheState("absent", folder, f"{manifest_path} cannot be read ({error})")
    signature = signature or source_signature(spec, location)
    if not signature.present:
        return CacheState("detached", folder, f"the original files under {location} are gone; the cache is the "
                                              "only copy", manifest)
    if signature.digest != recorded.get("digest"):
        return CacheState("stale", folder, f"the source files under {location} changed since it was prepared "
                                           f"({signature.files:,} files, {signature.bytes:,} bytes now; "
                                           f"{recorded.get('files', 0):,} files, {recorded.get('bytes', 0):,} bytes "
                                           "then)", manifest)
    made_with = manifest.get("decoders", {})
    changed = [f"{name} {made_with.get(name)} -> {now}" for name, now in decoder_versions().items()
               if made_with.get(name) != now]
    if changed:
        return CacheState("stale", folder, f"it was made with other decoders ({', '.join(changed)})", manifest)
    return CacheState("valid", folder, "", manifest)


def has_usable_cache(spec: DatasetSources, location: Path, resolution: int | None = None) -> bool:
    """Whether a valid or detached cache exists at ``resolution`` (any resolution when None)."""
    resolutions = prepared_resolutions(location, spec.name) if resolution is None else [resolution]
    signature = None
    for candidate in resolutions:
        if not (cache_folder(location, spec.name, candidate) / MANIFEST).is_file():
            continue
        signature = signature or source_signature(spec, location)
        if cache_state(spec, location, candidate, signature).usable:
            return True
    return False


def read_prepared(source: DatasetSource, resolution: int) -> ImageSet | None:
    """The ImageSet of a built-in torchvision or archive dataset from its prepared cache, or None when it
    has no usable one (a stale cache is reported once as a warning)."""
    from kdss_bench.data.dataset_sources import SOURCES

    spec = SOURCES.get(source.variant or "")
    if spec is None or source.location is None or Path(source.location).name != spec.name:
        return None
    state = cache_state(spec, source.location, resolution)
    if state.status == "stale":
        _warn_once(str(state.folder), f"prepared cache {state.folder} of '{spec.name}' is out of date: {state.reason}; "
                                      f"reading the originals (refresh it: kdss-bench data prepare {spec.name} "
                                      f"--root {Path(source.location).parent})")
        return None
    if not state.usable:
        return None
    if state.status == "detached":
        _warn_once(str(state.folder), f"'{spec.name}': {state.reason} ({state.folder})")
    assert state.manifest is not None
    try:
        return _load(state.folder, state.manifest, source.name)
    except (OSError, ValueError, KeyError, TypeError) as error:
        _warn_once(str(state.folder), f"prepared cache {state.folder} cannot be read ({error}); reading the "
                                      f"originals (rebuild it: kdss-bench data prepare {spec.name} --root "
                                      f"{Path(source.location).parent})")
        return None


def write_prepared(images: ImageSet, spec: DatasetSources, location: Path, resolution: int,
                   signature: SourceSignature, *, verified: bool, seconds: float) -> Path:
    """Write ``images`` as the cache of ``spec`` at ``resolution``; returns its folder."""
    import numpy as np

    folder = cache_folder(location, spec.name, resolution)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (folder / MANIFEST).unlink()
    except OSError as error:
        raise_if_disk_full(error, folder)
        raise
    arrays: dict[str, Any] = {}
    for key in ARRAYS:
        array = getattr(images, key).contiguous().numpy()
        path = folder / f"{key}.npy"
        with open_atomic(path) as handle:
            np.save(handle, array, allow_pickle=False)
        arrays[key] = {"shape": list(array.shape), "dtype": str(array.dtype), "bytes": path.stat().st_size}
    manifest = {
        "format": CACHE_FORMAT,
        "dataset": spec.name,
        "resolution": resolution,
        "classes": list(images.classes),
        "mean": list(images.mean),
        "std": list(images.std),
        "fingerprint": images.fingerprint(),
        "arrays": arrays,
        "sources": {**signature.as_json(), "location": str(location)},
        "decoders": decoder_versions(),
        "verified": verified,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
    }
    write_json_atomic(folder / MANIFEST, manifest)
    return folder


def cache_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).glob("*.npy"))


def _load(folder: Path, manifest: dict[str, Any], name: str) -> ImageSet:
    import numpy as np
    import torch

    from kdss_bench.data.image_set import ImageSet

    tensors = {}
    for key in ARRAYS:
        array = np.load(folder / f"{key}.npy", mmap_mode="c", allow_pickle=False)
        recorded = manifest["arrays"][key]
        if list(array.shape) != list(recorded["shape"]) or str(array.dtype) != recorded["dtype"]:
            raise ValueError(f"{key}.npy holds {array.dtype} {tuple(array.shape)}, the manifest "
                             f"{recorded['dtype']} {tuple(recorded['shape'])}")
        tensors[key] = torch.from_numpy(array)
    images = ImageSet(name=name, classes=tuple(str(c) for c in manifest["classes"]),
                      mean=_triple(manifest["mean"]), std=_triple(manifest["std"]), **tensors)
    if name == manifest["dataset"]:
        # The fingerprint hashes every pixel (seconds at ImageNet scale, and it would page the whole map in):
        # the one computed from these very arrays when they were written stands in for it.
        images.__dict__["_fingerprint"] = str(manifest["fingerprint"])
    return images


def _triple(values: Any) -> tuple[float, float, float]:
    first, second, third = (float(v) for v in values)
    return (first, second, third)


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        _LOG.warning(message)
