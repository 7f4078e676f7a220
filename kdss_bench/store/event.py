"""One progress event: the unit that the console, the dashboard and the store all consume.

An event is one JSON line ``{run, stage, kind, step, total, values, time}``. Writers are strict
(an unknown ``kind`` is a bug in the caller); readers are lenient about ``kind`` so a newer
writer's events still show up in an older dashboard.
"""

from __future__ import annotations

import json
import math
import time as time_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS = ("start", "progress", "metric", "end", "error")


class EventFormatError(ValueError):
    """A JSON object that does not have the shape of an event."""


@dataclass(frozen=True)
class Event:
    """A stage's report: ``run`` is ``"<suite>/<cell>"``, ``values`` holds numbers such as ``loss``."""

    run: str
    stage: str
    kind: str
    step: int | None = None
    total: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    time: float = 0.0

    @classmethod
    def now(
        cls,
        run: str,
        stage: str,
        kind: str,
        step: int | None = None,
        total: int | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Event:
        """Builds a new event stamped with the current wall-clock time; checks ``kind``."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        return cls(
            run=run,
            stage=stage,
            kind=kind,
            step=None if step is None else int(step),
            total=None if total is None else int(total),
            values=dict(values or {}),
            time=time_module.time(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "stage": self.stage,
            "kind": self.kind,
            "step": self.step,
            "total": self.total,
            "values": dict(self.values),
            "time": self.time,
        }

    def to_json_line(self) -> str:
        """The event as one line of JSON ending in a newline (the ``events.jsonl`` format)."""
        return json.dumps(self.as_dict(), separators=(",", ":"), default=_plain_number) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        """Validates a decoded JSON object; raises :class:`EventFormatError` if it is not an event."""
        if not isinstance(data, dict):
            raise EventFormatError(f"expected a JSON object, got {type(data).__name__}")
        for key in ("run", "stage", "kind"):
            if not isinstance(data.get(key), str):
                raise EventFormatError(f"event key {key!r} must be a string")
        for key in ("step", "total"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise EventFormatError(f"event key {key!r} must be an integer or null")
        values = data.get("values", {})
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise EventFormatError("event key 'values' must be an object")
        stamp = data.get("time")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
            raise EventFormatError("event key 'time' must be a finite number")
        return cls(
            run=data["run"],
            stage=data["stage"],
            kind=data["kind"],
            step=data.get("step"),
            total=data.get("total"),
            values=values,
            time=float(stamp),
        )


def _plain_number(value: Any) -> Any:
    """Lets numpy scalars/arrays and 0-dim tensors be logged without importing either library."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"event value of type {type(value).__name__} is not JSON serialisable")
