"""One cell's folder, ``<results_root>/<suite>/<cell>/``, and the files a run leaves in it.

Workers write only their own run folder (config, events, result); the parent indexes them.
Suite and cell names become folder names, so they are checked to be single path components.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

import yaml

from kdss_bench.errors import ConfigError
from kdss_bench.store.atomic_write import write_json_atomic, write_text_atomic
from kdss_bench.store.event_log import EventLog
from kdss_bench.store.result_file import ResultFileError, read_result_file

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
RESULT_FILE = "result.json"
PREVIEW_FILE = "preview.npz"
MAX_NAME_LENGTH = 200
NOT_A_CELL_PREFIX = "_"
"""Folders in a suite folder whose name starts with this hold suite-wide files (``_suite``), not a cell."""


def check_folder_name(name: str, what: str = "name") -> str:
    """Returns ``name`` if it is usable as one folder name; raises :class:`ConfigError` otherwise.

    Hidden names (leading ``.``) are refused because the store skips hidden folders such as
    ``.cache``: a run stored under one would never be found again.
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "is empty"
    elif "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        problem = "contains a path separator"
    elif name.startswith("."):
        problem = "starts with '.' (hidden folders are skipped)"
    elif any(ord(char) < 32 or char == "\x7f" for char in name):
        problem = "contains a control character"
    elif name != name.strip():
        problem = "starts or ends with whitespace"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is longer than {MAX_NAME_LENGTH} characters"
    if problem is not None:
        raise ConfigError(
            f"{what} {name!r} {problem}; use letters, digits, '_', '-' and '.' (not first), "
            "e.g. 'krr_st__gtsrb43__seed0'"
        )
    return name


class RunDir:
    """Paths and file access for one cell's results; nothing is created until written."""

    def __init__(self, results_root: str | os.PathLike[str], suite: str, cell: str) -> None:
        self.results_root = Path(results_root)
        self.suite = check_folder_name(suite, "suite name")
        self.cell = check_folder_name(cell, "cell id")
        if cell.startswith(NOT_A_CELL_PREFIX):
            raise ConfigError(f"cell id {cell!r} starts with {NOT_A_CELL_PREFIX!r}, which marks suite-wide "
                              "folders such as '_suite'; use a name such as 'krr_st__gtsrb43__seed0'")
        self.path = self.results_root / suite / cell

    def __repr__(self) -> str:
        return f"RunDir({str(self.results_root)!r}, {self.suite!r}, {self.cell!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and (self.path, self.suite, self.cell) == (
            other.path,
            other.suite,
            other.cell,
        )

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def run_id(self) -> str:
        """``"<suite>/<cell>"``: the ``run`` field of this cell's events."""
        return f"{self.suite}/{self.cell}"

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def result_path(self) -> Path:
        return self.path / RESULT_FILE

    @property
    def preview_path(self) -> Path:
        """The latest synthetic images of a running distillation (see ``store/preview_file.py``)."""
        return self.path / PREVIEW_FILE

    def create(self) -> RunDir:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def is_finished(self) -> bool:
        """True when ``result.json`` exists and is a valid result (a torn or corrupt one is not)."""
        try:
            read_result_file(self.result_path)
        except ResultFileError:
            return False
        return True

    def load_result(self) -> dict[str, Any]:
        """The parsed ``result.json``; raises ``ResultFileError`` if missing or corrupt."""
        return read_result_file(self.result_path)

    def write_result(self, result: Mapping[str, Any]) -> None:
        """Writes ``result.json`` atomically, filling in ``suite``/``cell`` and refusing a mismatch."""
        record = dict(result)
        for key, expected in (("suite", self.suite), ("cell", self.cell)):
            given = record.setdefault(key, expected)
            if given != expected:
                raise ResultFileError(
                    f"{self.result_path}: result has {key} {given!r} but belongs to {expected!r}"
                )
        self.create()
        write_json_atomic(self.result_path, record)

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Writes the resolved cell config as YAML, atomically (key order kept)."""
        self.create()
        text = yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True)
        write_text_atomic(self.config_path, text)

    def load_config(self) -> dict[str, Any]:
        with open(self.config_path, encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}

    def event_log(self) -> EventLog:
        """Opens this cell's ``events.jsonl`` for appending (creating the folder)."""
        self.create()
        return EventLog(self.events_path)


def iter_run_dirs(results_root: str | os.PathLike[str]) -> Iterator[RunDir]:
    """Every ``<suite>/<cell>`` folder under ``results_root``, sorted.

    Hidden folders are skipped at both levels, and in a suite folder so are ``_``-prefixed ones
    (``_suite`` holds the run plan and the runner's liveness file, not a cell).
    """
    root = Path(results_root)
    for suite in _visible_subfolders(root):
        for cell in cell_folder_names(root / suite):
            try:
                yield RunDir(root, suite, cell)
            except ConfigError:
                continue  # a folder name the store would never create


def cell_folder_names(suite_folder: str | os.PathLike[str]) -> list[str]:
    """The sorted names of the cell folders in one suite folder (no hidden or ``_``-prefixed ones)."""
    return [name for name in _visible_subfolders(Path(suite_folder)) if not name.startswith(NOT_A_CELL_PREFIX)]


def _visible_subfolders(folder: Path) -> list[str]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(entry.name for entry in entries if not entry.name.startswith(".") and entry.is_dir())


def _plain(value: Any) -> Any:
    """Turns tuples and paths into YAML-safe lists and strings (``safe_dump`` refuses them)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, PurePath):
        return str(value)
    return value
