"""How the command line reports bad input: one line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import functools

import typer

from kdss_bench.errors import KdssError


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def user_errors(command):
    """Turn KdssError into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KdssError as exc:
            raise fail(str(exc)) from None

    return wrapper
