"""What a method's settings are checked against: the suite's budget and what is known of its source.

The same facts come from two places: ``load_suite`` (``kdss-bench validate``) fills them from the
dataset registry and file headers, without torch and without loading images; a method at run
time fills them from the loaded source (:meth:`DistillContext.facts`). Either way the settings'
one :meth:`~kdss_bench.methods.settings.MethodSettings.check` runs on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuiteFacts:
    """``None`` means not known before the data is loaded: a check that needs it then waits for run time."""

    budget: int
    source: str
    num_classes: int | None = None
    train_images: int | None = None
    """Training images of the source; for a ``train_per_class`` subset an upper bound (K x classes)."""
    has_teacher: bool = True
    check_files: bool = False
    """Whether checks may look at files on this machine (``validate --no-check-files`` says no)."""
