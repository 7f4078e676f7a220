"""kdss_bench.methods.settings_checks: the shared checks, each naming the suite key it is about."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kdss_bench.errors import SettingError
from kdss_bench.methods.settings_checks import check_budget_within_source, check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts


def test_a_budget_above_the_training_images_is_refused_at_the_budget_key():
    check_budget_within_source(SuiteFacts(budget=100, source="s", train_images=100))
    check_budget_within_source(SuiteFacts(budget=10**6, source="s"))  # unknown count: decided at run time
    with pytest.raises(SettingError) as caught:
        check_budget_within_source(SuiteFacts(budget=101, source="dtd10", train_images=100))
    assert caught.value.key == ("budget",)
    assert caught.value.problem == "budget 101 exceeds the 100 training images of 'dtd10'; lower the suite's budget"


def test_class_balanced_budgets_need_one_image_per_class_and_fit_the_source():
    check_class_balanced_budget(SuiteFacts(budget=10, source="s", num_classes=10, train_images=10))
    with pytest.raises(SettingError) as caught:
        check_class_balanced_budget(SuiteFacts(budget=9, source="digits", num_classes=10))
    assert caught.value.key == ("budget",) and "smaller than the 10 source classes" in caught.value.problem
    assert caught.value.problem.endswith("(source 'digits')")
    with pytest.raises(SettingError, match="exceeds the 50 training images"):
        check_class_balanced_budget(SuiteFacts(budget=60, source="s", num_classes=10, train_images=50))
    check_class_balanced_budget(SuiteFacts(budget=1, source="s"))  # classes unknown: nothing to refuse yet


@dataclass(frozen=True)
class Counts:
    pool_size: int = 1
    steps: int = 5


def test_check_positive_names_the_first_setting_below_one():
    check_positive(Counts(), ("pool_size", "steps"), ("methods", "m"))
    with pytest.raises(SettingError) as caught:
        check_positive(Counts(pool_size=0, steps=-1), ("steps", "pool_size"), ("methods", "m"))
    assert caught.value.key == ("methods", "m", "steps") and caught.value.problem == "must be at least 1, got -1"
