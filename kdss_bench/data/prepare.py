"""``kdss-bench data prepare``: check a dataset's files, unpack placed archives, and write its prepared caches.

For one built-in torchvision or archive dataset under ``<root>/<name>``, in order:

1. the paths its reader needs are looked for; for the missing ones, archives the user placed in
   ``<root>/<name>/`` (or in the folder each is extracted into, or in ``<root>/``) are checked
   against their published size and checksum and unpacked (:mod:`~kdss_bench.data.archive_extract`);
   with ``download`` the torchvision sets are fetched by torchvision instead;
2. what is still missing is reported with the exact paths, the archives they come from, where to
   get them and where they go (and the dataset counts as missing);
3. the files torchvision publishes checksums for are checked (``verify``);
4. for each resolution without a valid cache, the originals are read by the dataset's reader and
   written as a prepared cache (:mod:`~kdss_bench.data.prepared_cache`), whose tensors equal the
   reader's; a count that differs from the official release's is reported as a warning.

Bad files (an unreadable archive, a checksum mismatch, a reader error) raise DataError naming the
file and the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kdss_bench.data.archive_extract import check_file, place_archive
from kdss_bench.data.dataset_sources import (
    Archive,
    DatasetSources,
    archives_for,
    missing_paths,
    missing_report,
    prepare_command,
    sources_of,
)
from kdss_bench.data.prepared_cache import cache_bytes, cache_state, source_signature, write_prepared

Echo = Callable[[str], None]


@dataclass
class PrepareOutcome:
    name: str
    status: str  # "prepared" | "missing"
    resolutions: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def prepare_dataset(name: str, root: Path, resolutions: Sequence[int], *, download: bool = False,
                    verify: bool = True, echo: Echo = print) -> PrepareOutcome:
    """Prepare built-in dataset ``name`` under ``root`` at every resolution in ``resolutions``."""
    spec = sources_of(name)
    root = Path(root)
    location = root / name
    missing = missing_paths(spec, location)
    if missing:
        _place_archives(spec, location, missing, verify, echo)
        missing = missing_paths(spec, location)
    if missing and download and spec.downloadable:
        from kdss_bench.data.torchvision_download import download_torchvision

        echo(f"{name}: downloading with torchvision into {location}")
        download_torchvision(name, location)
        missing = missing_paths(spec, location)
    if missing:
        kept = [r for r in resolutions if cache_state(spec, location, r).status == "detached"]
        if kept and len(kept) == len(resolutions):
            echo(f"{name}: the originals are not under {location}; its prepared cache at "
                 f"{', '.join(map(str, kept))} px stands in for them")
            return PrepareOutcome(name, "prepared", kept)
        for line in missing_report(spec, location, download_asked=download):
            echo(line)
        return PrepareOutcome(name, "missing")
    if verify:
        checked = _verify_expected(spec, location, root)
        if checked:
            echo(f"{name}: {checked} file(s) match their published checksums")
    return _write_caches(spec, location, resolutions, verify, echo)


def _write_caches(spec: DatasetSources, location: Path, resolutions: Sequence[int], verified: bool,
                  echo: Echo) -> PrepareOutcome:
    from kdss_bench.data.registry import DatasetSource, read_source

    outcome = PrepareOutcome(spec.name, "prepared", list(resolutions))
    signature = source_signature(spec, location)
    source = DatasetSource(spec.name, spec.format, location, variant=spec.name)
    for resolution in resolutions:
        label = f"{spec.name} at {resolution} px"
        state = cache_state(spec, location, resolution, signature)
        if state.status == "valid":
            echo(f"{label}: already prepared in {state.folder}")
            continue
        if state.status == "stale":
            echo(f"{label}: the prepared cache is out of date ({state.reason}); preparing it again")
        echo(f"{label}: reading {signature.files:,} source files ({_size(signature.bytes)}) ...")
        start = time.perf_counter()
        images = read_source(source, resolution)
        seconds = time.perf_counter() - start
        folder = write_prepared(images, spec, location, resolution, signature, verified=verified, seconds=seconds)
        counts = (images.num_classes, len(images.y_train), len(images.y_test))
        echo(f"{label}: prepared {counts[1]:,} train / {counts[2]:,} test images, {counts[0]:,} classes in "
             f"{seconds:.1f} s -> {folder} ({_size(cache_bytes(folder))})")
        if counts != spec.counts and not outcome.warnings:  # the same at every resolution: said once
            warning = (f"{spec.name}: {counts[1]:,} train / {counts[2]:,} test images and {counts[0]:,} classes, but "
                       f"the official release has {spec.counts[1]:,} / {spec.counts[2]:,} and {spec.counts[0]:,}: an "
                       "incomplete or modified copy?")
            outcome.warnings.append(warning)
            echo(f"warning: {warning}")
    return outcome


def _place_archives(spec: DatasetSources, location: Path, missing: list, verify: bool, echo: Echo) -> None:
    for archive in archives_for(spec, missing):
        found = find_archive(archive, location)
        if found is None:
            continue
        if verify:
            echo(f"{spec.name}: checking {found} ({_size(found.stat().st_size)})")
            check_file(found, size=archive.size, md5=archive.md5, sha256=archive.sha256, source=archive.source,
                       fix=f"download {archive.file} again from {archive.url} (an interrupted download?), or pass "
                           "--no-verify to use it as it is")
        destination = archive.target(location)
        echo(f"{spec.name}: {'copying' if archive.kind == 'file' else 'extracting'} {found} into {destination}")
        place_archive(archive, found, destination)


def find_archive(archive: Archive, location: Path) -> Path | None:
    """A placed copy of ``archive``: in the folder it is extracted into, in ``<root>/<name>/``, or in ``<root>/``."""
    for folder in dict.fromkeys((archive.target(location), location, location.parent)):
        candidate = folder / archive.file
        if candidate.is_file():
            return candidate
    return None


def _verify_expected(spec: DatasetSources, location: Path, root: Path) -> int:
    checked = 0
    for item in spec.expected:
        if item.md5 is None and item.size is None:
            continue
        if spec.downloadable:
            fix = (f"delete it and run {prepare_command([spec.name], root, download=True)}, or pass --no-verify to "
                   "use it as it is")
        else:
            fix = (f"restore it from {item.archive} ({spec.archive(item.archive).url}), or pass --no-verify to use "
                   "it as it is")
        check_file(location / item.path, size=item.size, md5=item.md5, sha256=None, source=item.source, fix=fix)
        checked += 1
    return checked


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
