"""``--track tensorboard``: TensorBoard event files, one run folder per cell.

``<results>/<suite>/_tensorboard/<cell>/events.out.tfevents.*`` (the ``_`` keeps the folder out of the
cells), so ``tensorboard --logdir <results>/<suite>/_tensorboard`` shows the cells as runs, and
``--logdir <results>`` every suite (runs ``<suite>/_tensorboard/<cell>``). Scalars are named as in
``event_tags.py`` (``distill/loss``, ``finetune/accuracy``, ``cell/accuracy``), preview images are
``distill/preview``, a stage's start and error are text, and the cell's config is the text ``config``.
A cell run again (after a failure, with ``--cells``) writes a new event file into its folder; its steps
start again, so TensorBoard shows the newest run's points. Written with torch's ``SummaryWriter``
(which needs the ``tensorboard`` package: ``pip install 'kdss-bench[tensorboard]'``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kdss_bench.trackers.tracker import Tracker

FOLDER = "_tensorboard"
FLUSH_S = 5


def tensorboard_folder(results_root: str | os.PathLike[str], suite: str) -> Path:
    """``<results>/<suite>/_tensorboard``: where the cells' runs go."""
    return Path(results_root) / suite / FOLDER


class TensorBoardTracker(Tracker):
    name = "tensorboard"

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.fix = f"check that {self.folder} can be written (permissions, free space)"
        self.writers: dict[str, Any] = {}

    def describe(self) -> str:
        return f"tensorboard --logdir {self.folder}"

    def start_cell(self, cell: str, config: Mapping[str, Any]) -> None:
        import yaml
        from torch.utils.tensorboard import SummaryWriter

        self._close(cell)
        writer = self.writers[cell] = SummaryWriter(log_dir=str(self.folder / cell), flush_secs=FLUSH_S)
        text = yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True)
        writer.add_text("config", "    " + text.rstrip("\n").replace("\n", "\n    "), 0)  # markdown: code

    def log_scalars(self, cell: str, group: str, scalars: Mapping[str, float], step: int) -> None:
        writer = self._writer(cell)
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, step)

    def log_text(self, cell: str, tag: str, text: str, step: int) -> None:
        self._writer(cell).add_text(tag, text, step)

    def log_images(self, cell: str, tag: str, images: Any, step: int) -> None:
        self._writer(cell).add_images(tag, images, step, dataformats="NHWC")

    def end_cell(self, cell: str, outcome: str, values: Mapping[str, Any]) -> None:
        writer = self.writers.get(cell)
        if writer is None:
            return
        if outcome != "finished":
            writer.add_text("cell/outcome", f"{outcome}: {values.get('message', '')}".rstrip(": "), 0)
        self._close(cell)

    def close(self) -> None:
        for cell in list(self.writers):
            self._close(cell)

    def _writer(self, cell: str):
        writer = self.writers.get(cell)
        if writer is None:  # the listener always starts a cell first; a direct caller may not
            self.start_cell(cell, {"cell": cell})
            writer = self.writers[cell]
        return writer

    def _close(self, cell: str) -> None:
        writer = self.writers.pop(cell, None)
        if writer is not None:
            writer.close()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
