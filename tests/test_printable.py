"""kdss_bench.printable: user text quoted in an error stays one readable line."""

from __future__ import annotations

import sys

import pytest

from kdss_bench.printable import SHOWN_CHARACTERS, printable, show, show_number


def test_printable_text_is_returned_as_is():
    assert printable("methods.krr_st.lr") == "methods.krr_st.lr"


@pytest.mark.parametrize(("text", "expected"), [
    ("two\nlines", "two\\nlines"),
    ("nul\x00byte", "nul\\x00byte"),
    ("tab\there", "tab\\there"),
    ("line\u2028sep", "line\\u2028sep"),
    ("bell\x07", "bell\\x07"),
])
def test_control_characters_are_escaped(text, expected):
    assert printable(text) == expected and "\n" not in printable(text)


def test_long_text_is_cut_to_the_limit_with_an_ellipsis():
    text = "x" * 1_000_000
    shown = printable(text)
    assert len(shown) == SHOWN_CHARACTERS == 60 and shown.endswith("...") and shown[:57] == "x" * 57
    assert printable("abcdef", limit=5) == "ab..."
    assert printable(text, limit=None) == text
    assert printable("a" * 60) == "a" * 60  # exactly the limit: kept whole


def test_show_quotes_a_value_with_its_type():
    assert show(None) == "nothing (null)"
    assert show("ten") == "str 'ten'"
    assert show(5) == "int 5" and show(2.5) == "float 2.5" and show(float("nan")) == "float nan"
    assert show(True) == "bool True"  # a bool is not shown as a number
    assert show([1, 2]) == "list [1, 2]"
    assert show("a\nb") == "str 'a\\nb'"  # repr escapes it already


def test_show_cuts_long_values_and_numbers():
    assert show("y" * 100) == "str " + ("'" + "y" * 36 + "...")
    assert show_number(10 ** 50) == "1" + "0" * 36 + "..."


def test_an_integer_too_long_for_str_is_described_not_raised():
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if not limit:
        pytest.skip("this Python has no integer digit limit")
    huge = 10 ** (limit + 10)
    assert show_number(huge) == "<an int too long to print>"
    assert show(huge) == "int <an int too long to print>"
