"""Settings of the ``import`` method: where a released distilled set lives and how to read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.methods.settings import MethodSettings


@dataclass(frozen=True)
class ImportSetSettings(MethodSettings):
    """A folder with ``x_syn.pt`` and ``y_syn.pt`` (torch.save'd tensors, the KRR-ST authors' layout).

    ``target_kind: auto`` reads it from ``y_syn``: integer (m,) -> hard; float (m,) of whole numbers
    -> hard (the official test.py casts baseline labels with ``.long()``); float (m, C) with C the
    source's number of classes -> soft; any other float (m, d) -> features. Name the kind when a
    feature set happens to have d == C. ``input_space`` records what ``x_syn`` is: ``normalized``
    (the supervised baselines' sets) or ``raw`` [0, 1] pixels (the KRR-ST authors' released x_syn,
    which the official pipeline feeds to the network unnormalised). The images are used as stored.
    """

    path: str = ""
    target_kind: str = "auto"
    input_space: str = "normalized"

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "target_kind": ("auto", "features", "hard", "soft"),
        "input_space": ("raw", "normalized"),
    }

    def input_fingerprint(self) -> str | None:
        """The released files' contents are part of the result: a changed file must not hit the cache."""
        from pathlib import Path

        from kdss_bench.methods.import_set import released_files_fingerprint

        return released_files_fingerprint(Path(self.path))
