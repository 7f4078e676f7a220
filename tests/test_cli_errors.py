"""kdss_bench.cli_errors: bad input is one line on stderr with status 2, a full disk status 1, warnings one line."""

from __future__ import annotations

import errno
import logging

import pytest
import typer

from kdss_bench.cli_errors import LIBRARY_LOGGER, _OneLineWarnings, fail, show_library_warnings, user_errors
from kdss_bench.errors import ConfigError, DiskFullError


def test_fail_prints_one_collapsed_line_and_returns_the_exit(capsys):
    exit_ = fail("bad\n   value   in\tsuite.yaml", code=3)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 3
    assert capsys.readouterr().err == "error: bad value in suite.yaml\n"


def test_a_user_error_exits_with_status_2_and_no_traceback(capsys):
    @user_errors
    def command(name):
        raise ConfigError(f"suite.yaml line 3: unknown method '{name}'\n(see kdss-bench ls methods)")

    with pytest.raises(typer.Exit) as caught:
        command("krr")
    assert caught.value.exit_code == 2
    err = capsys.readouterr().err
    assert err == "error: suite.yaml line 3: unknown method 'krr' (see kdss-bench ls methods)\n"


def test_a_full_disk_anywhere_exits_with_status_1_naming_the_file(capsys):
    @user_errors
    def command():
        raise OSError(errno.ENOSPC, "No space left on device", "/r/tiny/cell/result.json")

    with pytest.raises(typer.Exit) as caught:
        command()
    assert caught.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: /r/tiny/cell/result.json: no space left on device;") and err.count("\n") == 1

    @user_errors
    def raising_disk_full():
        raise DiskFullError("/r/x")

    with pytest.raises(typer.Exit) as caught:
        raising_disk_full()
    assert caught.value.exit_code == 1


def test_a_bug_is_not_hidden(capsys):
    @user_errors
    def command():
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        command()
    assert capsys.readouterr().err == ""


def test_the_wrapped_command_keeps_its_name_and_result():
    @user_errors
    def table(x: int) -> int:
        """Doc."""
        return x + 1

    assert table(1) == 2 and table.__name__ == "table" and table.__doc__ == "Doc."


def test_library_warnings_print_as_one_warning_line_and_the_handler_is_installed_once(capsys):
    show_library_warnings()
    show_library_warnings()
    logger = logging.getLogger(LIBRARY_LOGGER)
    assert sum(isinstance(h, _OneLineWarnings) for h in logger.handlers) == 1
    logging.getLogger(f"{LIBRARY_LOGGER}.store.result_index").warning("index repaired:\n  %d rows", 3)
    logging.getLogger(f"{LIBRARY_LOGGER}.x").info("not shown")
    assert capsys.readouterr().err == "warning: index repaired: 3 rows\n"
