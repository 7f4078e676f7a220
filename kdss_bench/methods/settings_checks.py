"""Checks several methods' settings share: budgets that fit the source, counts that must be positive.

Each raises :class:`~kdss_bench.errors.SettingError` with the suite key it is about, so suite
validation points at the line and a method that runs the same check at run time names the key.
"""

from __future__ import annotations

from collections.abc import Iterable

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.class_budget import class_budget_problem
from kdss_bench.methods.suite_facts import SuiteFacts


def check_budget_within_source(facts: SuiteFacts) -> None:
    """A distilled set drawn from the source's training images cannot hold more images than it has."""
    if facts.train_images is not None and facts.budget > facts.train_images:
        raise SettingError(("budget",), f"budget {facts.budget} exceeds the {facts.train_images} training images "
                                        f"of '{facts.source}'; lower the suite's budget")


def check_class_balanced_budget(facts: SuiteFacts) -> None:
    """Class-balanced methods (random, kmeans, dsa, dm, mtt, kip, frepo) need one image per class or more.

    Whether each class has enough images for its share needs the labels: that part is checked
    when the images are picked (``class_balanced_indices``).
    """
    check_budget_within_source(facts)
    if facts.num_classes is not None:
        problem = class_budget_problem(facts.budget, facts.num_classes)
        if problem:
            raise SettingError(("budget",), f"{problem} (source '{facts.source}')")


def check_positive(settings: object, names: Iterable[str], where: KeyPath) -> None:
    """Every named integer setting is at least 1."""
    for name in names:
        value = getattr(settings, name)
        if value < 1:
            raise SettingError((*where, name), f"must be at least 1, got {value}")
