"""kdss_bench.errors: one-line user errors that pickle, and what counts as a full disk."""

from __future__ import annotations

import errno
import pickle
import sqlite3

import pytest

from kdss_bench.errors import (
    DISK_FULL_ERRNOS,
    CheckpointError,
    ConfigError,
    DamagedArtifactError,
    DataError,
    DiskFullError,
    KdssError,
    MissingDataError,
    ModelError,
    SettingError,
    disk_full,
    raise_if_disk_full,
)


def test_every_user_error_is_a_kdss_error_in_its_family():
    assert issubclass(SettingError, ConfigError) and issubclass(MissingDataError, DataError)
    assert issubclass(DamagedArtifactError, CheckpointError)
    for kind in (ConfigError, DataError, ModelError, CheckpointError, DiskFullError):
        assert issubclass(kind, KdssError)


def test_setting_error_names_the_dotted_key():
    error = SettingError(["methods", "mtt", "syn_steps"], "must be at least 1, got 0")
    assert str(error) == "key 'methods.mtt.syn_steps': must be at least 1, got 0"
    assert error.key == ("methods", "mtt", "syn_steps") and error.problem == "must be at least 1, got 0"


@pytest.mark.parametrize("error", [
    SettingError(("budget",), "too big"),
    MissingDataError("cifar10 not found", dataset="cifar10", root="/data", downloadable=True),
    DiskFullError("/results/x.json", "disk quota exceeded"),
    DamagedArtifactError("distill", "abc123", "checksum mismatch"),
])
def test_errors_with_extra_fields_survive_pickling(error):
    """Stage jobs send their errors across processes: the copy must be equal in type, text and fields."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert {k: v for k, v in vars(copy).items()} == {k: v for k, v in vars(error).items()}


def test_disk_full_error_names_the_path_and_how_to_resume():
    text = str(DiskFullError("/r/index.sqlite"))
    assert text.startswith("/r/index.sqlite: no space left on device; free some space")
    assert "run the same command to resume" in text and DiskFullError("/x").exit_code == 1
    assert str(DiskFullError("")).startswith("no space left on device;")  # no path: no leading ': '
    assert str(DamagedArtifactError("pretrain", "k1", "bad header")) == "cached pretrain artifact k1: bad header"


@pytest.mark.parametrize(("code", "detail"), [(errno.ENOSPC, "no space left on device"),
                                              (errno.EDQUOT, "disk quota exceeded")])
def test_os_errors_with_a_full_disk_errno_become_disk_full_errors(code, detail):
    assert code in DISK_FULL_ERRNOS
    full = disk_full(OSError(code, "boom", "/r/file.bin"), where="/elsewhere")
    assert isinstance(full, DiskFullError) and full.path == "/r/file.bin" and full.detail == detail
    assert disk_full(OSError(code, "boom"), where="/r/fallback").path == "/r/fallback"


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("database or disk is full"),
    RuntimeError("safetensors: I/O error: No space left on device (os error 28)"),
    ValueError("Disk quota exceeded while writing"),
])
def test_library_errors_that_describe_a_full_disk_are_recognised_by_their_text(error):
    full = disk_full(error, where="/r/index.sqlite")
    assert isinstance(full, DiskFullError) and full.path == "/r/index.sqlite"


@pytest.mark.parametrize("error", [OSError(errno.ENOENT, "missing", "/x"), RuntimeError("shape mismatch"),
                                   PermissionError(errno.EACCES, "denied")])
def test_other_errors_are_not_disk_full(error):
    assert disk_full(error) is None


def test_a_disk_full_error_keeps_its_path_or_takes_where():
    named = DiskFullError("/a")
    assert disk_full(named, where="/b") is named
    filled = disk_full(DiskFullError(""), where="/b")
    assert filled.path == "/b" and filled.detail == named.detail


def test_raise_if_disk_full_reraises_as_disk_full_and_ignores_the_rest():
    cause = OSError(errno.ENOSPC, "no space")
    with pytest.raises(DiskFullError) as caught:
        raise_if_disk_full(cause, "/r/out")
    assert caught.value.path == "/r/out" and caught.value.__cause__ is cause
    raise_if_disk_full(OSError(errno.ENOENT, "missing"), "/r/out")  # not a full disk: nothing raised
