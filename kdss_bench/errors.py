"""User-facing errors: one line that names the file, key or value and the fix.

The CLI catches :class:`KdssError` and prints its message without a traceback; any other
exception is a bug in kdss-bench.
"""

from __future__ import annotations


class KdssError(Exception):
    """An error caused by the user's input (a suite, a path, a name), printed as one line."""


class ConfigError(KdssError):
    """A suite file is malformed or names something that does not exist."""


class DataError(KdssError):
    """A dataset is missing, unreadable or has the wrong format."""


class MissingDataError(DataError):
    """A built-in dataset's files are not under the data root (and it has no usable prepared cache).

    ``dataset`` is the built-in name ``kdss-bench data prepare`` takes, ``root`` the data root it
    was looked for under, ``downloadable`` whether ``--download`` can fetch it (torchvision), so
    that suite validation can name one prepare command for every missing dataset of a suite.
    """

    def __init__(self, message: str, *, dataset: str, root: str, downloadable: bool) -> None:
        self.dataset, self.root, self.downloadable = dataset, root, downloadable
        super().__init__(message)

    def __reduce__(self):
        return (_missing_data_error, (str(self), self.dataset, self.root, self.downloadable))


def _missing_data_error(message: str, dataset: str, root: str, downloadable: bool) -> MissingDataError:
    return MissingDataError(message, dataset=dataset, root=root, downloadable=downloadable)


class ModelError(KdssError):
    """A model name does not match any registered architecture."""


class CheckpointError(KdssError):
    """A checkpoint or distilled-set file is missing or does not match what is expected."""


class SettingError(ConfigError):
    """A setting holds a value that cannot run. ``key`` is its path in the suite, e.g.
    ``("methods", "mtt", "syn_steps")``, so suite validation can point at the line, and a check
    made at run time still names the key."""

    def __init__(self, key: tuple[str, ...], problem: str) -> None:
        self.key, self.problem = tuple(key), problem
        super().__init__(f"key '{'.'.join(self.key)}': {problem}")

    def __reduce__(self):  # picklable although __init__ takes two arguments
        return (type(self), (self.key, self.problem))


class DiskFullError(KdssError):
    """The disk (or quota) holding a file filled up; the run stops and resumes once there is room."""

    exit_code = 1

    def __init__(self, path: object, detail: str = "no space left on device") -> None:
        self.path, self.detail = str(path or ""), detail
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{detail}; free some space (or pass --results on a larger disk) and run "
                         "the same command to resume: finished stages and cells are kept")

    def __reduce__(self):
        return (type(self), (self.path, self.detail))


class DamagedArtifactError(CheckpointError):
    """A cached artifact failed its checksum or could not be read: it is quarantined and rebuilt."""

    def __init__(self, stage: str, key: str, problem: str) -> None:
        self.stage, self.key, self.problem = stage, key, problem
        super().__init__(f"cached {stage} artifact {key}: {problem}")

    def __reduce__(self):
        return (type(self), (self.stage, self.key, self.problem))


DISK_FULL_ERRNOS = (28, 122)
"""ENOSPC (no space left on device) and EDQUOT (disk quota exceeded) on Linux."""


DISK_FULL_TEXTS = ("no space left on device", "os error 28", "disk quota exceeded", "database or disk is full")
"""How a full disk reads in errors that carry no errno: safetensors (Rust io errors), torch, sqlite3."""


def disk_full(error: BaseException, where: object = None) -> DiskFullError | None:
    """The :class:`DiskFullError` an error amounts to (an OS error, or a library's error about one), naming
    the file it carries, else ``where``; None when the error is about something else."""
    if isinstance(error, DiskFullError):
        if where is not None and not error.path:
            return DiskFullError(where, error.detail)
        return error
    if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
        detail = "no space left on device" if error.errno == 28 else "disk quota exceeded"
        return DiskFullError(error.filename or where or "", detail)
    text = str(error).lower()
    if any(marker in text for marker in DISK_FULL_TEXTS):
        return DiskFullError(where or "", "no space left on device")
    return None


def raise_if_disk_full(error: BaseException, where: object) -> None:
    """Re-raises a full-disk error as :class:`DiskFullError` naming ``where`` (call from an ``except``)."""
    full = disk_full(error, where)
    if full is not None:
        raise full from error
