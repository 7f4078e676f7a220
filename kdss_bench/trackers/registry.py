"""The trackers ``--track`` knows, the package each needs, and how one is made for a suite's run.

:func:`check_trackers` runs before anything else of ``kdss-bench run``: an unknown name or a missing
package is one line and exit status 2, before a cell starts. Importing this module imports neither
TensorBoard nor W&B (nor torch).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kdss_bench.errors import KdssError
from kdss_bench.trackers.tracker import Tracker
from kdss_bench.trackers.wandb_tracker import WandbOptions


@dataclass(frozen=True)
class TrackerSetup:
    """What making a tracker for one run of a suite needs."""

    results_root: Path
    suite: str
    wandb: WandbOptions = WandbOptions()


@dataclass(frozen=True)
class TrackerKind:
    package: str
    """The package it imports (checked before the run)."""
    extra: str
    """``pip install 'kdss-bench[<extra>]'`` installs that package."""
    build: Callable[[TrackerSetup], Tracker]


def _tensorboard(setup: TrackerSetup) -> Tracker:
    from kdss_bench.trackers.tensorboard_tracker import TensorBoardTracker, tensorboard_folder

    return TensorBoardTracker(tensorboard_folder(setup.results_root, setup.suite))


def _wandb(setup: TrackerSetup) -> Tracker:
    from kdss_bench.trackers.wandb_tracker import WandbTracker, wandb_folder

    tracker = WandbTracker(setup.wandb, folder=wandb_folder(setup.results_root, setup.suite), suite=setup.suite)
    tracker.preflight()
    return tracker


TRACKERS: dict[str, TrackerKind] = {
    "tensorboard": TrackerKind("tensorboard", "tensorboard", _tensorboard),
    "wandb": TrackerKind("wandb", "wandb", _wandb),
}


def tracker_names() -> list[str]:
    return list(TRACKERS)


def check_trackers(names: Iterable[str]) -> list[str]:
    """The names given to ``--track`` (each once, in order); raises :class:`KdssError` for an unknown one
    or one whose package cannot be imported, naming the ``pip install`` that fixes it."""
    chosen = list(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    for name in chosen:
        kind = TRACKERS.get(name)
        if kind is None:
            raise KdssError(f"--track {name}: not a tracker; use {' or '.join(TRACKERS)} "
                            "(repeat --track for several)")
        install = f"pip install 'kdss-bench[{kind.extra}]'"
        try:
            importlib.import_module(kind.package)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] == kind.package.split(".")[0]:
                raise KdssError(f"--track {name}: the {kind.package} package is not installed; {install}") from None
            raise KdssError(f"--track {name}: the {kind.package} package cannot be imported "
                            f"({' '.join(str(exc).split())}); {install}") from None
        except Exception as exc:  # noqa: BLE001 - a broken install: say what broke, and how to reinstall
            raise KdssError(f"--track {name}: the {kind.package} package cannot be imported "
                            f"({type(exc).__name__}: {' '.join(str(exc).split())}); {install}") from None
    return chosen


def make_trackers(names: Iterable[str], *, results_root: str | os.PathLike[str], suite: str,
                  wandb: WandbOptions | None = None) -> list[Tracker]:
    """One tracker per (checked) name for a run of ``suite``; W&B online checks its login here."""
    setup = TrackerSetup(Path(results_root), suite, wandb or WandbOptions())
    return [TRACKERS[name].build(setup) for name in names]
