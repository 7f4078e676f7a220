"""What each setting of a method is: name, type, default, choices and a one-line meaning.

The meaning is the comment written beside the field in its ``*_settings.py`` class (where each
default's source in the official code is also noted), so the help ``kdss-bench ls methods NAME``
prints cannot drift from the code: there is one place to document a setting. Torch-free.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
from dataclasses import dataclass
from typing import Any

from kdss_bench.methods.settings import MethodSettings


@dataclass(frozen=True)
class SettingHelp:
    name: str
    type: str
    default: Any
    choices: tuple[str, ...]
    meaning: str


def field_comments(cls: type) -> dict[str, str]:
    """``name -> comment`` of the fields of ``cls`` and its bases (a subclass's comment wins)."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        comments.update(_comments_in(source))
    return comments


def _comments_in(source: str) -> dict[str, str]:
    """The trailing comment of each ``name: type = default  # comment`` line of a class body."""
    found: dict[str, str] = {}
    line_name: dict[int, str] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, token in enumerate(tokens):
        if token.type == tokenize.NAME and index + 1 < len(tokens) and tokens[index + 1].string == ":" \
                and token.start[1] == 4:  # a field of the class body (first indentation level)
            line_name[token.start[0]] = token.string
        if token.type == tokenize.COMMENT and token.start[0] in line_name:
            found[line_name[token.start[0]]] = token.string.lstrip("#").strip()
    return found


def describe_settings(cls: type[MethodSettings]) -> list[SettingHelp]:
    """Every field of a settings class, in declaration order."""
    comments = field_comments(cls)
    rows = []
    for field in dataclasses.fields(cls):
        default = field.default if field.default is not dataclasses.MISSING else (
            field.default_factory() if field.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        rows.append(SettingHelp(name=field.name, type=str(field.type), default=default,
                                choices=tuple(cls.CHOICES.get(field.name, ())), meaning=comments.get(field.name, "")))
    return rows
