"""Parsing suite YAML once, within a budget: data and lines as safe_load would give, or one line of error."""

from __future__ import annotations

import time

import pytest
import yaml

from kdss_bench.bounded_yaml import MAX_DEPTH, MAX_VALUES, parse_yaml
from kdss_bench.errors import ConfigError

ALIAS_BOMB = "".join(
    f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" if i else "b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    for i in range(8))


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "s.yaml")
    message = str(caught.value)
    assert message.startswith("s.yaml") and message.isprintable(), message
    return message


@pytest.mark.parametrize("text", [
    "name: tiny\nmethods:\n  krr_st: {lr: 0.01, steps: [1, 2]}\n  no_pretrain: {}\nseeds: [0, 1]\n",
    "a: 1e-4\nb: .inf\nc: ~\nd: yes\ne: 0x10\nf: 2024-01-02\ng: 'x'\n",
    "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n",
    "one: &o {x: 1}\ntwo: &t {x: 2, z: 3}\nm:\n  <<: [*o, *t]\n",
    "- a\n- b\n",
    "",
])
def test_same_data_as_safe_load(text):
    data, _ = parse_yaml(text, "s.yaml")
    assert data == yaml.safe_load(text)


def test_lines_of_keys_and_list_items():
    data, lines = parse_yaml("name: tiny\nmethods:\n  krr_st:\n    lr: 0.1\nseeds:\n  - 0\n  - 1\n", "s.yaml")
    assert lines == {("name",): 1, ("methods",): 2, ("methods", "krr_st"): 3, ("methods", "krr_st", "lr"): 4,
                     ("seeds",): 5, ("seeds", "0"): 6, ("seeds", "1"): 7}


def test_alias_bomb_is_refused_quickly():
    started = time.perf_counter()
    message = error_of(ALIAS_BOMB + "seeds: *b7\n")
    assert time.perf_counter() - started < 1.0
    assert f"more than {MAX_VALUES:,} values" in message


@pytest.mark.parametrize("text", ["seeds: &R [0, *R]\n", "m: &M {a: *M}\n", "m: &M {<<: *M}\n"])
def test_alias_inside_its_own_collection_is_refused(text):
    assert "refers to the list or mapping that contains it" in error_of(text)


@pytest.mark.parametrize("text", [
    "a: " + "[" * 1000 + "]" * 1000 + "\n",
    "a: " + "{b: " * 1000 + "1" + "}" * 1000 + "\n",
    "a:\n" + "".join(" " * i + "- \n" for i in range(1, 1000)),
    "x: &x " + "[" * 20 + "0" + "]" * 20 + "\ny: &y " + "[" * 20 + "*x" + "]" * 20 + "\n",
])
def test_deep_nesting_is_refused_not_a_recursion_error(text):
    assert f"nested more than {MAX_DEPTH} levels" in error_of(text)


def test_a_hundred_thousand_open_brackets_take_no_time():
    started = time.perf_counter()
    error_of("a: " + "[" * 100_000)
    assert time.perf_counter() - started < 1.0


def test_a_key_given_twice_names_both_lines():
    assert error_of("name: a\ntargets: [x]\nseeds: [0]\ntargets: [y]\n") == (
        "s.yaml:4: key 'targets': given twice (lines 2 and 4); keep one")
    assert "key 'datasets.mine': given twice (lines 2 and 3)" in error_of(
        "datasets:\n  mine: {format: npz, path: a.npz}\n  mine: {format: npz, path: b.npz}\n")


def test_explicit_keys_override_merged_ones_without_a_duplicate_error():
    data, lines = parse_yaml("base: &b {lr: 1, steps: 2}\nm:\n  <<: *b\n  lr: 3\n", "s.yaml")
    assert data["m"] == {"lr": 3, "steps": 2} and lines[("m", "lr")] == 4


@pytest.mark.parametrize("text,fragment", [
    ("a: !!python/object:os.system x\n", "unsupported YAML tag"),
    ("a: !custom [1]\n", "unsupported YAML tag '!custom'"),
    ("a: !!set {x}\n", "unsupported YAML tag"),
    ("? [a, b]\n: 1\n", "a key must be a plain name"),
    ("a: 2023-02-30\n", "value '2023-02-30' cannot be read as !!timestamp (ValueError: day is out of range"),
    ("a: " + "1" * 5000 + "\n", "cannot be read as !!int (ValueError: Exceeds the limit"),
    ("a: !!bool maybe\n", "value 'maybe' cannot be read as !!bool (KeyError: 'maybe')"),
    ("a: !!timestamp soon\n", "value 'soon' cannot be read as !!timestamp (AttributeError"),
    ('a: !!int ""\n', "value '' cannot be read as !!int (IndexError"),
    ("a: *nowhere\n", "malformed YAML (found undefined alias 'nowhere')"),
    ("a: 1\n---\nb: 2\n", "s.yaml:2: malformed YAML"),
    ("a: [1, 2\n", "malformed YAML"),
    ("a: b\x00c\n", "s.yaml:1: malformed YAML (unacceptable character #x0000"),
    ("m:\n  <<: 5\n", "'<<' merges mappings only"),
    ('a: 1\nb: "\\UFFFFFFFF"\n', "s.yaml:2: malformed YAML (Python int too large to convert to C int: an escape"),
    ('a: "\\U00110000"\n', "malformed YAML (chr() arg not in range(0x110000): an escape names no character)"),
])
def test_unreadable_values_are_one_line_errors(text, fragment):
    assert fragment in error_of(text)
