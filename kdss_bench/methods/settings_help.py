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
    """The trailing comment of each ``name: type = default  # comment`` line of a class body, with the
    comment-only lines right below it that continue it (while it ends mid-sentence: a word, a comma, a
    colon or a semicolon). A section heading is set off by a blank line, so it never continues a field."""
    found: dict[str, str] = {}
    line_name: dict[int, str] = {}
    open_field: str | None = None  # the field whose comment the next comment-only line may continue
    last_line = 0  # the line of that field's comment so far
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, token in enumerate(tokens):
        if token.type == tokenize.NAME and index + 1 < len(tokens) and tokens[index + 1].string == ":" \
                and token.start[1] == 4:  # a field of the class body (first indentation level)
            line_name[token.start[0]] = token.string
        if token.type != tokenize.COMMENT:
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                open_field = None
            continue
        text = token.string.lstrip("#").strip()
        if token.start[0] in line_name:
            open_field, last_line = line_name[token.start[0]], token.start[0]
            found[open_field] = text
        elif open_field is not None and token.start[0] == last_line + 1 and text and _mid_sentence(found[open_field]):
            found[open_field], last_line = f"{found[open_field]} {text}", token.start[0]
        else:
            open_field = None
    return found


def _mid_sentence(text: str) -> bool:
    return bool(text) and (text[-1].isalnum() or text[-1] in ",;:")


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
