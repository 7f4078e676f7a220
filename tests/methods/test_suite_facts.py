"""kdss_bench.methods.suite_facts: what settings are checked against; unknown facts defer a check to run time."""

from __future__ import annotations

import dataclasses

import pytest

from kdss_bench.methods.suite_facts import SuiteFacts


def test_defaults_say_unknown_counts_a_teacher_and_no_file_checks():
    facts = SuiteFacts(budget=100, source="cifar100")
    assert (facts.num_classes, facts.train_images, facts.has_teacher, facts.check_files) == (None, None, True, False)


def test_facts_are_frozen_values():
    facts = SuiteFacts(budget=10, source="digits", num_classes=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.budget = 20  # type: ignore[misc]
    assert facts == SuiteFacts(budget=10, source="digits", num_classes=10)
    assert hash(facts) == hash(SuiteFacts(budget=10, source="digits", num_classes=10))
