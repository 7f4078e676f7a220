"""Reader for the shared ``.npz`` format (see shared/data/README.md).

Keys: ``x_train``/``x_test`` uint8 (N, H, W, 3) or (N, H, W); ``y_train``/``y_test`` integer
class indices; ``classes`` a str array of names. Files are opened with ``allow_pickle=False``:
a dataset file must never be able to run code.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdss_bench.errors import DataError

if TYPE_CHECKING:  # torch is imported only when a set is read, so checking a suite stays instant
    from kdss_bench.data.image_set import ImageSet
    from kdss_bench.data.registry import DatasetSource

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")


@dataclass(frozen=True)
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: np.dtype


def inspect_npz(path: Path, *, name: str) -> dict[str, ArrayHeader]:
    """Check the file's keys, dtypes and shapes from the array headers alone (no pixel data read)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"dataset '{name}': file {path} not found; pass --data-root pointing at the folder that holds it "
            "or fix the dataset's path"
        )
    headers: dict[str, ArrayHeader] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {Path(m).stem: m for m in archive.namelist() if m.endswith(".npy")}
            for key in NPZ_KEYS:
                if key not in members:
                    raise DataError(_missing_key_message(name, path, key, sorted(members)))
                with archive.open(members[key]) as stream:
                    shape, dtype = _read_header(stream)
                headers[key] = ArrayHeader(shape=tuple(shape), dtype=np.dtype(dtype))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DataError(
            f"dataset '{name}': file {path} is not a readable .npz ({error}); re-save it with np.savez"
        ) from error
    _check_headers(name, path, headers)
    return headers


def read_npz(path: Path, *, name: str, resolution: int) -> ImageSet:
    """Load an ``.npz`` dataset file into an :class:`ImageSet` at ``resolution``."""
    path = Path(path)
    inspect_npz(path, name=name)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in NPZ_KEYS}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise DataError(
            f"dataset '{name}': file {path} cannot be read ({error}); re-save it with np.savez"
        ) from error
    classes = [str(c) for c in arrays["classes"].tolist()]
    from kdss_bench.data.image_set import build_image_set

    return build_image_set(
        name,
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        classes,
        resolution,
    )


def _read_header(stream) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    return shape, dtype


def _check_headers(name: str, path: Path, headers: dict[str, ArrayHeader]) -> None:
    for key in ("x_train", "x_test"):
        header = headers[key]
        if header.dtype != np.uint8:
            raise DataError(
                f"dataset '{name}': file {path} key '{key}' has dtype {header.dtype}, expected uint8; "
                "save pixels as uint8 0-255"
            )
        if len(header.shape) not in (3, 4) or (len(header.shape) == 4 and header.shape[3] not in (1, 3, 4)):
            raise DataError(
                f"dataset '{name}': file {path} key '{key}' has shape {header.shape}, "
                "expected (N,H,W,3) or (N,H,W)"
            )
    for key in ("y_train", "y_test"):
        header = headers[key]
        if header.dtype.kind not in "iu":
            raise DataError(
                f"dataset '{name}': file {path} key '{key}' has dtype {header.dtype}, expected integer class "
                "indices (uint8); save labels as integers"
            )
        image_count = headers["x" + key[1:]].shape[0]
        if header.shape != (image_count,):
            raise DataError(
                f"dataset '{name}': file {path} key '{key}' has shape {header.shape}, "
                f"expected ({image_count},) to match the images"
            )
    classes = headers["classes"]
    if classes.dtype.kind != "U" or len(classes.shape) != 1:
        raise DataError(
            f"dataset '{name}': file {path} key 'classes' has dtype {classes.dtype} and shape "
            f"{classes.shape}, expected a 1-D str array; save it as np.array(names, dtype=str)"
        )


def _missing_key_message(name: str, path: Path, key: str, present: list[str]) -> str:
    return (
        f"dataset '{name}': file {path} has no key '{key}' (it has: {', '.join(present) or 'nothing'}); "
        f"an npz dataset needs {', '.join(NPZ_KEYS)}"
    )


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    inspect_npz(source.location, name=source.name)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_npz(source.location, name=source.name, resolution=resolution)
