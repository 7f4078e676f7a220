"""User text inside an error message: escaped to one printable line and cut to a readable length.

Keys and values come from the user's files; a newline, a control character or a megabyte-long
string in them must not turn a one-line error into several lines or a wall of text.
"""

from __future__ import annotations

from typing import Any

SHOWN_CHARACTERS = 60
"""The longest piece of user text an error message repeats (the rest is elided with '...')."""


def printable(text: str, limit: int | None = SHOWN_CHARACTERS) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x00``, ``\\u2028``), cut to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 3, 0)] + "..."
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


def show(value: Any) -> str:
    """A value with its type, as error messages quote it: ``str 'ten'``, ``float nan``, ``nothing (null)``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{type(value).__name__} {show_number(value)}"
    return f"{type(value).__name__} {printable(_safe_repr(value), 40)}"


def show_number(value: int | float) -> str:
    """An integer or float as itself (``5``, ``2.5``, ``nan``), its digits elided past the readable length."""
    return printable(_safe_repr(value), 40)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # an integer beyond Python's digit limit for str()
        return f"<an {type(value).__name__} too long to print>"
