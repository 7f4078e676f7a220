"""Reading ``result.json``: a finished cell's record, validated enough to be indexed.

The index, ``RunDir.is_finished`` and the reports all read results through here, so a
truncated or hand-edited file is reported the same way everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kdss_bench.errors import KdssError

RESULT_KEYS = ("suite", "cell")
"""Keys every result must hold (as strings): together they name the run."""


class ResultFileError(KdssError):
    """A ``result.json`` is missing, unreadable, not a JSON object or lacks ``suite``/``cell``."""


def read_result_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parses and checks one ``result.json``; raises :class:`ResultFileError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no result file; the cell has not finished (run the suite)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ResultFileError(f"{path}: cannot read ({error}); delete it and re-run the cell") from None
    try:
        result = json.loads(text)
    except ValueError as error:
        raise ResultFileError(f"{path}: not valid JSON ({error}); delete it and re-run the cell") from None
    check_result(result, where=str(path))
    return result


def read_result(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, str | None]:
    """(the result, None), or (None, why it cannot be read): for readers that list what they skip."""
    try:
        return read_result_file(path), None
    except ResultFileError as error:
        return None, str(error)


def check_result(result: Any, *, where: str) -> None:
    """Raises :class:`ResultFileError` unless ``result`` is an object with string ``suite`` and ``cell``."""
    if not isinstance(result, dict):
        raise ResultFileError(f"{where}: a result must be a JSON object, got {type(result).__name__}")
    for key in RESULT_KEYS:
        if not isinstance(result.get(key), str) or not result[key]:
            raise ResultFileError(f"{where}: result key {key!r} is missing or not a string; re-run the cell")
