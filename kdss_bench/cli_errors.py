"""How the command line reports bad input and trouble: one line on stderr, never a traceback.

Bad input (a :class:`KdssError`) exits with status 2; a full disk with status 1 (finished work is
kept and the same command resumes). Warnings of the library (a repaired index, a skipped result,
a preview that could not be written) print as one ``warning:`` line each.
"""

from __future__ import annotations

import functools
import logging
import sys

import typer

from kdss_bench.errors import KdssError, disk_full

LIBRARY_LOGGER = "kdss_bench"


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code)


class _OneLineWarnings(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"warning: {' '.join(record.getMessage().split())}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def show_library_warnings() -> None:
    """Routes the library's warnings to stderr, one line each (installed once per process)."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if not any(isinstance(handler, _OneLineWarnings) for handler in logger.handlers):
        # records still propagate: with a handler here, Python's last-resort stderr handler stays silent
        logger.addHandler(_OneLineWarnings(level=logging.WARNING))


def user_errors(command):
    """Turn KdssError into one line on stderr and exit status 2 (a full disk: status 1)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        show_library_warnings()
        try:
            return command(*args, **kwargs)
        except KdssError as exc:
            raise fail(str(exc), getattr(exc, "exit_code", 2)) from None
        except Exception as exc:  # a full disk surfaces as OSError or sqlite3.OperationalError anywhere
            full = disk_full(exc)
            if full is None:
                raise
            raise fail(str(full), full.exit_code) from None

    return wrapper
