"""``--track wandb``: one Weights & Biases run per cell.

Each cell that starts gets ``wandb.init(reinit="create_new")`` (cells of the local, Ray or SLURM
executors run side by side, so several runs are open at once), named after the cell, grouped by
the suite, tagged with its method and target, with the cell's resolved config (what its
``config.yaml`` holds, ``config_hash`` included) as the run's config. Metrics are named as in
``event_tags.py``; each stage has its own x axis, ``<stage>/step`` (the events' steps: stages count
from 0 each), declared with ``define_metric``. Preview images are ``distill/preview``, a stage's start
and error are summary text, and the summary holds ``accuracy`` and ``outcome``; the run finishes with
the cell (exit code 1 when it failed or was cancelled).

Project, entity and mode: ``--wandb-project`` (else ``$WANDB_PROJECT``, else ``kdss-bench``),
``--wandb-entity`` (else ``$WANDB_ENTITY``, else your default entity), ``--wandb-mode`` ``online``,
``offline`` or ``disabled`` (else ``$WANDB_MODE``, else online). Run files go to ``$WANDB_DIR`` when it
is set, else ``<results>/<suite>/_wandb/wandb/``; ``wandb sync`` uploads offline runs later. An online
run checks the login before the suite starts (a terminal asks for a key; without one it is an error).
The console stays the run's: W&B does not capture it, and prints nothing unless ``$WANDB_SILENT`` or
``$WANDB_QUIET`` is set (``WANDB_SILENT=false`` shows its lines per run).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.errors import KdssError
from kdss_bench.trackers.tracker import Tracker

FOLDER = "_wandb"
MODES = ("online", "offline", "disabled")
DEFAULT_PROJECT = "kdss-bench"
OFFLINE_MODES = ("offline", "dryrun", "disabled")
GRID_COLUMNS = 6


@dataclass(frozen=True)
class WandbOptions:
    """What ``--wandb-project``, ``--wandb-entity`` and ``--wandb-mode`` say (None: not given)."""

    project: str | None = None
    entity: str | None = None
    mode: str | None = None

    def check(self) -> WandbOptions:
        """Itself; a :class:`KdssError` for a mode W&B does not have."""
        if self.mode is not None and self.mode not in MODES:
            raise KdssError(f"--wandb-mode {self.mode}: not a W&B mode; use {', '.join(MODES)}")
        return self

    def effective_mode(self, environ: Mapping[str, str] = os.environ) -> str:
        return self.mode or environ.get("WANDB_MODE") or "online"


def wandb_folder(results_root: str | os.PathLike[str], suite: str) -> Path:
    """``<results>/<suite>/_wandb``: W&B's ``dir`` when ``$WANDB_DIR`` is not set."""
    return Path(results_root) / suite / FOLDER


@dataclass
class _CellRun:
    run: Any
    steps: set[str] = field(default_factory=set)
    """Metrics already given their step metric (``define_metric``)."""


class WandbTracker(Tracker):
    name = "wandb"
    fix = "check --wandb-project and --wandb-entity"

    def __init__(self, options: WandbOptions, *, folder: str | os.PathLike[str], suite: str,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.options = options.check()
        self.environ = environ
        self.project = options.project or environ.get("WANDB_PROJECT") or DEFAULT_PROJECT
        self.entity = options.entity or environ.get("WANDB_ENTITY") or None
        self.folder = None if environ.get("WANDB_DIR") else Path(folder)
        self.suite = suite
        self.runs: dict[str, _CellRun] = {}
        if options.effective_mode(environ) not in OFFLINE_MODES:
            self.fix += (", and your login (`wandb login`) and network, or pass --wandb-mode offline "
                         "(`wandb sync` uploads later)")

    def describe(self) -> str:
        where = self.folder if self.folder is not None else self.environ.get("WANDB_DIR")
        return f"W&B project {self.project} ({self.options.effective_mode(self.environ)}; run files under {where})"

    def preflight(self) -> None:
        """Before the suite starts: an online run needs a login (a terminal asks for a key), else an error."""
        if self.options.effective_mode(self.environ) in OFFLINE_MODES:
            return
        import wandb

        try:
            wandb.login()
        except Exception as exc:  # noqa: BLE001 - W&B's errors name the problem; the fix is ours
            detail = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
            raise KdssError(f"--track wandb: cannot log in to W&B ({detail}); run `wandb login`, set WANDB_API_KEY, "
                            "or pass --wandb-mode offline") from None

    def start_cell(self, cell: str, config: Mapping[str, Any]) -> None:
        import wandb

        self._finish(cell, 1)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        tags = [str(config[key])[:64] for key in ("method", "target") if config.get(key) not in (None, "")]
        run = wandb.init(project=self.project, entity=self.entity, mode=self.options.mode,
                         dir=None if self.folder is None else str(self.folder), name=cell,
                         group=str(config.get("suite") or self.suite), job_type="cell", tags=tags,
                         config=dict(config), reinit="create_new", settings=wandb.Settings(**self._settings()))
        self.runs[cell] = _CellRun(run)

    def log_scalars(self, cell: str, group: str, scalars: Mapping[str, float], step: int) -> None:
        entry = self._run(cell)
        self._define(entry, group, scalars)
        entry.run.log({**scalars, f"{group}/step": step})

    def log_text(self, cell: str, tag: str, text: str, step: int) -> None:
        self._run(cell).run.summary[tag] = text

    def log_images(self, cell: str, tag: str, images: Any, step: int) -> None:
        import wandb

        entry = self._run(cell)
        group = tag.rsplit("/", 1)[0]
        self._define(entry, group, (tag,))
        entry.run.log({tag: wandb.Image(image_grid(images), caption=f"step {step}"), f"{group}/step": step})

    def end_cell(self, cell: str, outcome: str, values: Mapping[str, Any]) -> None:
        entry = self.runs.get(cell)
        if entry is None:
            return
        summary = entry.run.summary
        summary["outcome"] = outcome
        for key in ("accuracy", "wall_time_s", "message"):
            if key in values:
                summary[key] = values[key]
        self._finish(cell, 0 if outcome == "finished" else 1)

    def close(self) -> None:
        for cell in list(self.runs):  # cells still open when the run stopped
            self._finish(cell, 1)

    def _settings(self) -> dict[str, Any]:
        """W&B leaves the console alone (no capture) and, unless ``$WANDB_SILENT`` or ``$WANDB_QUIET`` says
        otherwise, says nothing: its lines per run would drown the progress."""
        settings: dict[str, Any] = {"console": "off"}
        if "WANDB_SILENT" not in self.environ and "WANDB_QUIET" not in self.environ:
            settings["silent"] = True
        return settings

    def _run(self, cell: str) -> _CellRun:
        entry = self.runs.get(cell)
        if entry is None:  # the listener always starts a cell first; a direct caller may not
            self.start_cell(cell, {"cell": cell, "suite": self.suite})
            entry = self.runs[cell]
        return entry

    def _define(self, entry: _CellRun, group: str, tags) -> None:
        """Each metric's x axis is its stage's ``<group>/step`` (exact names: no two globs overlap)."""
        step = f"{group}/step"
        if step not in entry.steps:
            entry.run.define_metric(step)
            entry.steps.add(step)
        for tag in tags:
            if tag not in entry.steps:
                entry.run.define_metric(tag, step_metric=step)
                entry.steps.add(tag)

    def _finish(self, cell: str, exit_code: int) -> None:
        entry = self.runs.pop(cell, None)
        if entry is not None:
            entry.run.finish(exit_code=exit_code)


def image_grid(images: Any, columns: int = GRID_COLUMNS):
    """uint8 (k, H, W, 3) as one (rows*(H+1)-1, cols*(W+1)-1, 3) picture, a 1-pixel black gap between."""
    import numpy as np

    array = np.asarray(images, dtype=np.uint8)
    count, height, width = array.shape[0], array.shape[1], array.shape[2]
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns) if count else 1
    grid = np.zeros((rows * (height + 1) - 1, columns * (width + 1) - 1, 3), dtype=np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + 1), column * (width + 1)
        grid[top:top + height, left:left + width] = array[index]
    return grid
