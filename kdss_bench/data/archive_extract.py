"""Check a downloaded archive against its published size and checksum, and unpack it into a dataset folder.

Extraction goes into a hidden temporary folder next to the destination and is then merged into it,
so an interrupted extraction never leaves a half-filled tree that looks complete; a member that
would land outside the destination (an absolute path, '..', a link out) makes the archive
unreadable rather than writing anywhere else.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from kdss_bench.data.dataset_sources import Archive
from kdss_bench.errors import DataError, raise_if_disk_full

_CHUNK = 8 << 20
_UNREADABLE = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, *, size: int | None, md5: str | None, sha256: str | None, source: str,
               fix: str) -> str:
    """Raise DataError if ``path`` differs from the published size or checksum (md5 preferred, else sha256);
    returns what was checked, e.g. 'size and md5', or '' when nothing is published."""
    checked = []
    if size is not None:
        actual = path.stat().st_size
        if actual != size:
            raise DataError(f"{path} has {actual:,} bytes, but the official file has {size:,} ({source}); {fix}")
        checked.append("size")
    for algorithm, expected in (("md5", md5), ("sha256", sha256 if md5 is None else None)):
        if expected:
            actual_digest = file_digest(path, algorithm)
            if actual_digest != expected:
                raise DataError(f"{path} has {algorithm} {actual_digest}, but the official file's is {expected} "
                                f"({source}); {fix}")
            checked.append(algorithm)
    return " and ".join(checked)


def place_archive(archive: Archive, path: Path, destination: Path) -> None:
    """Unpack ``path`` (a copy of ``archive``) into ``destination``: extract a tar or zip, decompress a .gz,
    or copy a plain file. DataError naming the file and the fix when it cannot be read."""
    destination = Path(destination)
    temp = destination / f".kdss-extract-{archive.file}.tmp"
    try:
        destination.mkdir(parents=True, exist_ok=True)
        if temp.exists():
            shutil.rmtree(temp)
        temp.mkdir()
        if archive.kind == "tar":
            _extract_tar(path, temp, flatten=archive.flatten)
        elif archive.kind == "zip":
            _extract_zip(path, temp, flatten=archive.flatten)
        elif archive.kind == "gzip":
            with gzip.open(path, "rb") as source, open(temp / archive.file[: -len(".gz")], "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
        else:
            shutil.copyfile(path, temp / archive.file)
        _merge(temp, destination)
    except DataError:
        raise
    except _UNREADABLE as error:
        if isinstance(error, OSError):
            raise_if_disk_full(error, destination)
        first_line = (str(error).splitlines() or [""])[0]
        raise DataError(f"archive {path} cannot be read ({type(error).__name__}: {first_line}); download "
                        f"{archive.file} again from {archive.url}") from error
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _safe_name(name: str, path: Path) -> PurePosixPath:
    member = PurePosixPath(name.replace("\\", "/"))
    if member.is_absolute() or ".." in member.parts or not member.parts:
        raise DataError(f"archive {path} holds the member {name!r}, which points outside its folder; it is not "
                        "the official archive: download it again")
    return member


def _extract_tar(path: Path, temp: Path, *, flatten: bool) -> None:
    with tarfile.open(path) as tar:
        for member in tar:
            name = _safe_name(member.name, path)
            if member.isdir():
                if not flatten:
                    (temp / name).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():  # links, devices: the official archives hold none
                raise DataError(f"archive {path} holds {member.name!r}, which is not a plain file or folder; it is "
                                "not the official archive: download it again")
            target = temp / (name.name if flatten else name)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
            os.utime(target, (member.mtime, member.mtime))


def _extract_zip(path: Path, temp: Path, *, flatten: bool) -> None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = _safe_name(info.filename, path)
            if info.is_dir():
                if not flatten:
                    (temp / name).mkdir(parents=True, exist_ok=True)
                continue
            target = temp / (name.name if flatten else name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)


def _merge(source: Path, destination: Path) -> None:
    """Move every entry of ``source`` into ``destination``, merging folders; files replace files."""
    for entry in sorted(source.iterdir()):
        target = destination / entry.name
        if entry.is_dir():
            if target.is_dir():
                _merge(entry, target)
                continue
            if target.exists():
                target.unlink()
            entry.rename(target)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)
