"""Typed reads from a parsed YAML mapping, with errors that name the file, line and key.

Every suite key goes through :class:`ConfigReader`, so a wrong type or value anywhere gives the
same kind of one-line error: ``suites/x.yaml:7: key 'budget': expected a positive integer, got -5``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from kdss_bench.errors import ConfigError

KeyPath = tuple[str, ...]


def _node_lines(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _node_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*prefix, str(index))
            lines[key] = item.start_mark.line + 1
            _node_lines(item, key, lines)


def load_yaml_mapping(path: Path) -> tuple[dict, dict[KeyPath, int]]:
    """Parse ``path`` into a dict plus the line of every key, or raise a one-line ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: suite file not found; give the path of a YAML suite (see suites/)")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML ({problem}); fix the syntax at that line") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a suite must be a YAML mapping of keys (name:, source:, ...), "
                          f"got {type(data).__name__}")
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return data, lines


class ConfigReader:
    """Reads typed values out of one YAML file and raises errors that point into it."""

    def __init__(self, path: Path, lines: Mapping[KeyPath, int] | None = None):
        self.path = path
        self.lines = dict(lines or {})

    def error(self, key: KeyPath, message: str) -> ConfigError:
        line = None
        for depth in range(len(key), 0, -1):
            line = self.lines.get(tuple(key[:depth]))
            if line is not None:
                break
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = ".".join(key) if key else "<top level>"
        return ConfigError(f"{where}: key '{dotted}': {message}")

    def mapping(self, data: Any, key: KeyPath) -> dict:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise self.error(key, f"expected a mapping of keys, got {_show(data)}")
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
            raise self.error(key, f"expected a non-empty string, got {_show(value)}")
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                raise self.error(key, f"unknown value '{value}'; choose one of: {', '.join(choices)}")
        return value

    def integer(self, value: Any, key: KeyPath, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_show(value)}")
        if minimum is not None and value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.error(key, f"expected {kind}, got {value}")
        return value

    def number(self, value: Any, key: KeyPath, minimum: float | None = None,
               exclusive: bool = False) -> float:
        if isinstance(value, str):
            try:  # YAML 1.1 reads "1e-4" as a string; accept it as the number it obviously is
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {_show(value)}")
        value = float(value)
        if minimum is not None and (value < minimum or (exclusive and value == minimum)):
            relation = ">" if exclusive else ">="
            raise self.error(key, f"expected a number {relation} {minimum:g}, got {value:g}")
        return value

    def boolean(self, value: Any, key: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_show(value)}")
        return value

    def string_list(self, value: Any, key: KeyPath) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty list of names, got {_show(value)}")
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
                raise self.error(key, f"expected a list, got {_show(value)}")
            return tuple(value)
        return value


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
