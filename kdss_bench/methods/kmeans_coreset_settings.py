"""Settings of the ``kmeans`` baseline (a real coreset chosen by per-class k-means)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class KmeansCoresetSettings(MethodSettings):
    """``features``: cluster normalised pixels, or the frozen SSL teacher's features of them (needs a teacher)."""

    features: str = "pixels"  # cluster normalised pixels, or "teacher": the frozen SSL teacher's features
    iterations: int = 100  # at most this many Lloyd steps per class (stops earlier when assignments settle)

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"features": ("pixels", "teacher")}

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        check_class_balanced_budget(facts)
        if self.features == "teacher" and not facts.has_teacher:
            raise SettingError((*where, "features"), "kmeans with features: teacher needs a teacher; add a "
                                                     "'teacher:' section to the suite or set the method's "
                                                     "features: pixels")
