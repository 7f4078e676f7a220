"""kdss_bench.methods.settings_help: a setting's help is read from the comment beside its field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from kdss_bench.methods.dm_settings import DmSettings
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_help import describe_settings, field_comments


@dataclass(frozen=True)
class BaseExample(MethodSettings):
    steps: int = 10  # outer steps (train.py --steps)
    mode: str = "a"  # the base's meaning


@dataclass(frozen=True)
class Example(BaseExample):
    mode: str = "b"  # how it runs: a or b
    sizes: list = field(default_factory=lambda: [1, 2])  # a list default
    plain: float = 0.5
    nested_note: int = 1  # one: a colon inside the comment is kept  # and so is a second hash

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"mode": ("a", "b")}

    def help(self) -> None:
        local: int = 3  # not a field: inside a method body
        del local


def test_every_field_in_declaration_order_with_type_default_choices_and_meaning():
    rows = {row.name: row for row in describe_settings(Example)}
    assert list(rows) == ["steps", "mode", "sizes", "plain", "nested_note"]
    assert (rows["steps"].type, rows["steps"].default, rows["steps"].meaning) == ("int", 10,
                                                                                  "outer steps (train.py --steps)")
    assert rows["mode"].default == "b" and rows["mode"].choices == ("a", "b")
    assert rows["mode"].meaning == "how it runs: a or b", "a subclass's comment wins"
    assert rows["sizes"].default == [1, 2], "a default factory is called"
    assert rows["plain"].meaning == "" and rows["plain"].choices == ()
    assert rows["nested_note"].meaning == "one: a colon inside the comment is kept  # and so is a second hash"


def test_comments_of_method_bodies_are_not_fields():
    assert "local" not in field_comments(Example)


@pytest.mark.parametrize("name", [n for n in method_names() if method_info(n).settings is not None])
def test_every_setting_of_every_method_is_documented(name):
    for row in describe_settings(method_info(name).settings):
        assert row.meaning, f"{name}.{row.name} has no comment beside its field"


def test_a_comment_continued_on_the_next_line_is_part_of_the_meaning():
    meaning = next(row.meaning for row in describe_settings(DmSettings) if row.name == "embed_batches")
    assert "per_class" in meaning and not meaning.endswith("else")


def test_a_section_heading_after_a_blank_line_continues_no_field():
    from kdss_bench.methods.settings_help import _comments_in

    source = (
        "class S:\n"
        "    a: int = 1  # the first part, and\n"
        "    # the rest of it\n"
        "    b: str = 'x'  # ends with a word\n"
        "\n"
        "    # a heading\n"
        "    c: int = 2  # done.\n"
        "    # not a continuation: the comment above ended its sentence\n"
    )
    assert _comments_in(source) == {"a": "the first part, and the rest of it", "b": "ends with a word",
                                    "c": "done."}
