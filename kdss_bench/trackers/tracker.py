"""What a tracker is: somewhere a run's events also go, one tracker run per cell.

:class:`~kdss_bench.trackers.tracking_listener.TrackingListener` turns the events that the console
and the dashboard see into the calls below, so a tracker only writes. A tracker may raise from any
call: the listener reports the first error once, as one warning line that names the tracker and
:attr:`Tracker.fix`, and calls that tracker no more for the rest of the run; no cell, result or table
depends on a tracker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Tracker:
    """The calls a tracker gets; each default does nothing."""

    name: str = "tracker"
    """What ``--track`` calls it; the warning about an error names it."""
    fix: str = "see the error above"
    """What a user can do about an error of this tracker (the end of its warning line)."""

    def describe(self) -> str:
        """Where it writes, for the line ``run`` prints as it starts (e.g. the ``tensorboard`` command)."""
        return self.name

    def start_cell(self, cell: str, config: Mapping[str, Any]) -> None:
        """A cell starts: open its run. ``config`` is the cell's resolved config (its ``config.yaml``)."""

    def log_scalars(self, cell: str, group: str, scalars: Mapping[str, float], step: int) -> None:
        """Numbers of one event, ``{"distill/loss": 0.12, "distill/lr": 0.01}``, all under ``group/``
        (``distill``), at the event's ``step``."""

    def log_text(self, cell: str, tag: str, text: str, step: int) -> None:
        """A line about a stage: ``distill/start`` (where it runs, its key) or ``distill/error``."""

    def log_images(self, cell: str, tag: str, images: Any, step: int) -> None:
        """The synthetic images of a preview: uint8 (k, H, W, 3), each image scaled to 0..255."""

    def end_cell(self, cell: str, outcome: str, values: Mapping[str, Any]) -> None:
        """The cell ended: ``outcome`` is ``finished``, ``failed`` or ``cancelled``; ``values`` those of its
        ``cell`` end or error event (``accuracy``, ``wall_time_s``, or ``message``). Close its run."""

    def close(self) -> None:
        """The run of the suite ended (also when it was cancelled): close what is still open."""
