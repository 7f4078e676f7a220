"""What of an event a tracker logs, and under which names.

A ``progress`` or ``metric`` event's finite numbers (what the dashboard plots) become scalars named
``<stage>/<key>``: ``distill/loss``, ``distill/lr``, ``finetune/accuracy``; a stage's ``end`` gives
``<stage>/wall_time_s``, a cell's ``end`` ``cell/accuracy`` and ``cell/wall_time_s``. A progress event
of a phase inside a stage (KRR-ST's pool warm start, an MTT expert's epochs) is named
``<stage>/<phase>/...`` and, for an expert, ``.../expert<i>/...``, so each series' steps only go up;
the phase's counters (model 3 of 10) are not logged. A stage's ``start`` (its key, where it runs) and
``error`` (its message) become text. The step is the event's ``step``; an event without one takes the
last step of its group in that cell (0 before any).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kdss_bench.store.event import Event
from kdss_bench.store.live_runs import CANCEL_MESSAGES

PHASE_COUNTERS = frozenset({"model", "of", "images", "expert", "experts", "steps"})
"""Counters of a phase's progress (``phase_text`` in ``store/live_runs.py`` shows them), not metrics."""
START_KEYS = ("key", "recipe", "target", "arch", "executor", "worker", "host", "pid", "gpus", "cached")
"""The values of a stage's ``start`` event its text names, in this order."""


def event_group(event: Event) -> str:
    """``distill``, or ``distill/pool_warm_start``, ``mtt_experts/expert2`` for a phase's progress."""
    group = event.stage
    values = event.values
    phase = values.get("phase")
    if isinstance(phase, str) and phase and phase != event.stage:
        group += f"/{_tag_part(phase)}"
    expert = values.get("expert")
    if phase and _is_number(expert):
        group += f"/expert{int(expert)}"
    return group


def event_scalars(event: Event) -> dict[str, float]:
    """The event's finite numbers, named ``<group>/<key>`` (empty for a start or an error)."""
    if event.kind not in ("progress", "metric", "end"):
        return {}
    values = event.values
    skip = PHASE_COUNTERS if values.get("phase") else frozenset()
    group = event_group(event)
    scalars = {}
    for key, value in values.items():
        if key in skip or not _is_number(value) or not math.isfinite(float(value)):
            continue
        scalars[f"{group}/{_tag_part(key)}"] = float(value)
    return scalars


def event_text(event: Event) -> tuple[str, str] | None:
    """``("distill/start", "key a8624383 executor local worker cpu0 ...")``, ``("distill/error", message)``."""
    values = event.values
    if event.kind == "start":
        parts = [f"{key} {values[key]}" for key in START_KEYS if values.get(key) not in (None, "")]
        return f"{event.stage}/start", ", ".join(parts) or "started"
    if event.kind == "error":
        return f"{event.stage}/error", str(values.get("message", "")) or "failed"
    return None


def outcome_of(event: Event) -> str:
    """``finished`` for a cell's end, ``cancelled`` or ``failed`` for its error."""
    if event.kind == "end":
        return "finished"
    message = event.values.get("message")
    return "cancelled" if message in CANCEL_MESSAGES else "failed"


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers and strings of an event's values (what a run summary can hold), without a traceback."""
    return {key: value for key, value in values.items()
            if key != "traceback" and (isinstance(value, str) or _is_number(value))}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tag_part(text: str) -> str:
    """A key as one part of a tag: no ``/`` inside it, no spaces."""
    return "_".join(str(text).replace("/", "_").split()) or "_"
