"""Settings of the ``import`` method: where a released distilled set lives and how to read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.suite_facts import SuiteFacts

IMAGES_FILE = "x_syn.pt"
TARGETS_FILE = "y_syn.pt"


def released_folder_problem(path: str) -> str | None:
    """Why ``path`` cannot be the folder of a released set (unset, or not a folder on this machine), or None."""
    if not path:
        return f"method 'import' needs settings path: a folder holding {IMAGES_FILE} and {TARGETS_FILE}"
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return f"method 'import': path {folder} is not a folder; point it at the folder holding {IMAGES_FILE} and " \
               f"{TARGETS_FILE}"
    return None


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

    path: str = ""  # folder holding x_syn.pt and y_syn.pt
    target_kind: str = "auto"  # read from y_syn, or name it: features | hard | soft
    input_space: str = "normalized"  # what x_syn is: normalized images, or raw [0, 1] pixels

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "target_kind": ("auto", "features", "hard", "soft"),
        "input_space": ("raw", "normalized"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("path",)
    """The folder is where the set lies, not what it is: its files count by their bytes (input_fingerprint),
    so a released set moved or copied elsewhere keeps its keys, and a changed file changes them."""

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """The folder must be named, and exist when files are checked; the tensors are checked when read."""
        problem = released_folder_problem(self.path) if facts.check_files or not self.path else None
        if problem:
            raise SettingError((*where, "path"), problem)

    def input_fingerprint(self) -> str | None:
        """The released files' contents are part of the result: a changed file must not hit the cache."""
        from pathlib import Path

        from kdss_bench.methods.import_set import released_files_fingerprint

        return released_files_fingerprint(Path(self.path))
