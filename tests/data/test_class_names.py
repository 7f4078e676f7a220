"""kdss_bench.data.class_names: repeated WordNet names get their id, unique ones stay as they are."""

from __future__ import annotations

import pytest

from kdss_bench.data.class_names import unique_class_names


def test_only_repeated_names_carry_their_id():
    names = ["crane", "goldfish", "crane", "maillot", "maillot", "maillot"]
    ids = ["n02012849", "n01443537", "n03126707", "n03710637", "n03710721", "n99999999"]
    out = unique_class_names(names, ids)
    assert out == ["crane (n02012849)", "goldfish", "crane (n03126707)", "maillot (n03710637)",
                   "maillot (n03710721)", "maillot (n99999999)"]
    assert len(set(out)) == len(out)


def test_names_and_ids_must_have_the_same_length():
    with pytest.raises(ValueError):
        unique_class_names(["a", "b"], ["1"])
