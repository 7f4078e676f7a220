"""Reading a suite file and typed values out of it: every problem is one printable line naming file, line, key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kdss_bench.config_reader import MAX_INTEGER, MAX_SUITE_BYTES, ConfigReader, load_yaml_mapping, read_suite_text
from kdss_bench.errors import ConfigError


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: tiny\nsource: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        read_suite_text(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 0xe9 at that line); save the file as UTF-8"


def test_a_file_larger_than_any_suite_is_refused_unread(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"#" * (MAX_SUITE_BYTES + 1))
    with pytest.raises(ConfigError, match=r"larger than 128 KB, which no suite is"):
        read_suite_text(path)


def test_utf8_text_with_a_byte_order_mark_reads(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\n")
    data, lines = load_yaml_mapping(path)
    assert data == {"name": "café"} and lines == {("name",): 1}


def reader() -> ConfigReader:
    return ConfigReader(Path("s.yaml"), {("a",): 3, ("a\nb",): 4})


def test_error_escapes_control_characters_of_keys_and_values():
    message = str(reader().error(("a\nb", "c\u2028d"), "got 'x\ty'"))
    assert message == "s.yaml:4: key 'a\\nb.c\\u2028d': got 'x\\ty'"
    assert message.isprintable()


def test_error_shortens_long_keys():
    message = str(reader().error(("k" * 5000,), "unknown key"))
    assert len(message) < 120 and "..." in message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf", "-Infinity", 10**400])
def test_numbers_must_be_finite(value):
    with pytest.raises(ConfigError, match=r"key 'a': expected a finite number, got "):
        reader().number(value, ("a",), minimum=0.0)


def test_integers_have_an_upper_bound():
    assert reader().integer(MAX_INTEGER, ("a",)) == MAX_INTEGER
    with pytest.raises(ConfigError, match=r"expected an integer <= 2,147,483,647, got 2147483648"):
        reader().integer(MAX_INTEGER + 1, ("a",))
    with pytest.raises(ConfigError) as caught:
        reader().integer(10**1000, ("a",))
    assert len(str(caught.value)) < 120, "a huge number is shown shortened"


def test_unknown_choice_is_shown_escaped():
    with pytest.raises(ConfigError) as caught:
        reader().string("fast\n", ("a",), choices=("exact", "fast"))
    assert str(caught.value) == "s.yaml:3: key 'a': unknown value 'fast\\n'; choose one of: exact, fast"


@pytest.mark.parametrize("value,fragment", [
    ("a\0b", "cannot contain a NUL character"),
    ("~no_such_user_kdss/x", "cannot be expanded"),
    ("", "expected a non-empty string"),
])
def test_paths_that_cannot_be_used_are_errors(value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        reader().file_path(value, ("a",))
