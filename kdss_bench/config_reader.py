"""Typed reads from a parsed YAML mapping, with errors that name the file, line and key.

Every suite key goes through :class:`ConfigReader`, so a wrong type or value anywhere gives the
same kind of one-line error: ``suites/x.yaml:7: key 'budget': expected a positive integer, got -5``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kdss_bench.bounded_yaml import KeyPath, parse_yaml
from kdss_bench.errors import ConfigError
from kdss_bench.printable import printable, show, show_number

MAX_SUITE_BYTES = 128 * 1024
"""A suite is a few kilobytes (the largest shipped one: 3 KB); a larger file is not a suite."""
MAX_INTEGER = 2**31 - 1
"""The largest integer any setting takes (iterations, batch sizes, seeds); beyond it torch and numpy overflow."""


def read_suite_text(path: Path) -> str:
    """The text of suite file ``path``, or a one-line ConfigError (missing, unreadable, too large, not UTF-8)."""
    if not path.is_file():
        raise ConfigError(f"{printable(str(path), None)}: suite file not found; give the path of a YAML suite "
                          "(see suites/)")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_SUITE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{printable(str(path), None)}: cannot be read ({printable(error.strerror or str(error))}); "
                          "check the file's permissions") from None
    if len(raw) > MAX_SUITE_BYTES:
        raise ConfigError(f"{printable(str(path), None)}: larger than {MAX_SUITE_BYTES // 1024} KB, which no suite "
                          "is; give the path of a YAML suite (see suites/)")
    return decode_suite_bytes(raw, path)


def decode_suite_bytes(raw: bytes, path: Path) -> str:
    """UTF-8 text of a suite file's bytes; a ConfigError naming the line of the first byte that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{printable(str(path), None)}:{line}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                          "that line); save the file as UTF-8") from None


def load_yaml_mapping(path: Path) -> tuple[dict, dict[KeyPath, int]]:
    """Parse ``path`` into a dict plus the line of every key, or raise a one-line ConfigError."""
    return parse_yaml_mapping(read_suite_text(path), path)


def parse_yaml_mapping(text: str, path: Path) -> tuple[dict, dict[KeyPath, int]]:
    """Parse suite text (read from ``path``) into a dict plus the line of every key; one-line ConfigError."""
    data, lines = parse_yaml(text, printable(str(path), None))
    if not isinstance(data, dict):
        raise ConfigError(f"{printable(str(path), None)}: a suite must be a YAML mapping of keys (name:, source:, "
                          f"...), got {type(data).__name__}")
    return data, lines


class ConfigReader:
    """Reads typed values out of one YAML file and raises errors that point into it.

    Every message is one printable line: keys and values from the file are escaped and shortened.
    """

    def __init__(self, path: Path, lines: Mapping[KeyPath, int] | None = None):
        self.path = path
        self.lines = dict(lines or {})

    def line_of(self, key: KeyPath) -> int | None:
        """The line of ``key``, else of its nearest parent that has one."""
        for depth in range(len(key), 0, -1):
            line = self.lines.get(tuple(key[:depth]))
            if line is not None:
                return line
        return None

    def error(self, key: KeyPath, message: str) -> ConfigError:
        line = self.line_of(key)
        where = printable(str(self.path), None) + (f":{line}" if line else "")
        dotted = ".".join(printable(str(part)) for part in key) if key else "<top level>"
        return ConfigError(f"{where}: key '{dotted}': {printable(message, None)}")

    def mapping(self, data: Any, key: KeyPath) -> dict:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise self.error(key, f"expected a mapping of keys, got {show(data)}")
        return data

    def reject_unknown(self, data: Mapping, key: KeyPath, known: Iterable[str]) -> None:
        known = list(known)
        for name in data:
            if name not in known:
                raise self.error((*key, str(name)),
                                 f"unknown key; valid keys here: {', '.join(sorted(known))}")

    def required(self, data: Mapping, key: KeyPath) -> Any:
        if key[-1] not in data or data[key[-1]] is None:
            raise self.error(key, "is required but missing; add it to the suite")
        return data[key[-1]]

    def string(self, value: Any, key: KeyPath, choices: Iterable[str] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {show(value)}")
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                raise self.error(key, f"unknown value '{printable(value)}'; choose one of: {', '.join(choices)}")
        return value

    def integer(self, value: Any, key: KeyPath, minimum: int | None = None,
                maximum: int | None = MAX_INTEGER) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {show(value)}")
        if minimum is not None and value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.error(key, f"expected {kind}, got {show_number(value)}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"expected an integer <= {maximum:,}, got {show_number(value)}")
        return value

    def number(self, value: Any, key: KeyPath, minimum: float | None = None,
               exclusive: bool = False) -> float:
        if isinstance(value, str):
            try:  # YAML 1.1 reads "1e-4" as a string; accept it as the number it obviously is
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {show(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            value = math.inf
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {show_number(value)}")
        if minimum is not None and (value < minimum or (exclusive and value == minimum)):
            relation = ">" if exclusive else ">="
            raise self.error(key, f"expected a number {relation} {minimum:g}, got {value:g}")
        return value

    def file_path(self, value: Any, key: KeyPath) -> Path:
        """A non-empty string naming a file or folder, with ``~`` expanded (not checked for existence)."""
        text = self.string(value, key)
        if "\0" in text:
            raise self.error(key, "a path cannot contain a NUL character; fix the path")
        try:
            return Path(text).expanduser()
        except RuntimeError as error:  # "~nobody/...": no such user's home
            raise self.error(key, f"'{printable(text)}' cannot be expanded ({error}); write the path out") from None

    def boolean(self, value: Any, key: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {show(value)}")
        return value

    def string_list(self, value: Any, key: KeyPath) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty list of names, got {show(value)}")
        return [self.string(item, (*key, str(i))) for i, item in enumerate(value)]

    def typed_like(self, value: Any, default: Any, key: KeyPath,
                   choices: Iterable[str] | None = None) -> Any:
        """Check ``value`` against the type of ``default`` (used for per-method settings)."""
        if isinstance(default, bool):
            return self.boolean(value, key)
        if isinstance(default, int):
            return self.integer(value, key, minimum=0)
        if isinstance(default, float):
            return self.number(value, key, minimum=0.0)
        if isinstance(default, str):
            return self.string(value, key, choices=choices)
        if isinstance(default, tuple):
            if not isinstance(value, (list, tuple)):
                raise self.error(key, f"expected a list, got {show(value)}")
            return tuple(value)
        return value
