"""The fixed-width texts of a runs-table row."""

from __future__ import annotations

import math

from kdss_bench.tui.cell_format import accuracy, duration, number, progress_bar


def test_progress_bar_draws_eighths_with_a_half_step_and_the_percentage():
    assert progress_bar(45, 100, "running").plain == "━━━╸────  45%"
    assert progress_bar(0, 10, "running").plain == "────────   0%"
    assert progress_bar(3, 3, "running").plain == "━━━━━━━━ 100%"
    assert progress_bar(None, None, "done").plain == "━━━━━━━━ 100%"  # a finished cell is full, steps or not
    assert progress_bar(None, None, "running").plain == ""  # a stage without steps shows no bar
    assert progress_bar(50, 0, "failed").plain == ""


def test_durations_fit_five_characters():
    assert [duration(s) for s in (0, 45.4, 65, 3599, 7380, 400_000)] == ["0s", "45s", "1m05s", "59m59s", "2h03m",
                                                                          "4d"]
    assert duration(None) == duration(math.nan) == duration(-1) == ""


def test_numbers_are_compact_small_ones_scientific_and_blank_when_unknown():
    assert number(0.123456) == "0.1235" and number(12345.0) == "1.23e+04" and number(12.3456) == "12.35"
    assert number(6.019e-05) == "6.02e-05", "a small loss keeps its exponent instead of being cut to 6.019..."
    assert number(6.019e-05, width=7) == "6.0e-05" and number(0.0) == "0" and number(-0.5) == "-0.5"
    for width in (7, 8):
        assert all(len(number(v, width=width)) <= width for v in (6.019e-05, -6.019e-05, 1.5e-300, 3.2e7, 0.001234))
    assert number(None) == number(math.inf) == number(True) == ""
    assert accuracy(61.249) == "61.25" and accuracy(None) == ""

