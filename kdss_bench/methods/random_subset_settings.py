"""Settings of the ``random`` baseline: nothing to tune (the seed alone picks the subset)."""

from __future__ import annotations

from dataclasses import dataclass

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class RandomSubsetSettings(MethodSettings):
    """A class-balanced random real subset has no hyperparameters."""

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        check_class_balanced_budget(facts)
