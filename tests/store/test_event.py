from __future__ import annotations

import json
import math

import pytest

from kdss_bench.store.event import Event, EventFormatError


def test_now_stamps_time_and_checks_kind():
    event = Event.now("s/c", "distill", "progress", step=3, total=10, values={"loss": 0.5})
    assert event.time > 1.6e9
    assert event.values == {"loss": 0.5}
    with pytest.raises(ValueError, match="not one of"):
        Event.now("s/c", "distill", "finished")


def test_json_line_has_contract_keys_and_round_trips():
    event = Event("s/c", "distill", "metric", 1, 2, {"acc": 50.0}, 123.5)
    line = event.to_json_line()
    assert line.endswith("\n") and "\n" not in line[:-1]
    data = json.loads(line)
    assert list(data) == ["run", "stage", "kind", "step", "total", "values", "time"]
    assert Event.from_dict(data) == event


class _Scalar:
    """Stands in for a numpy scalar / 0-dim tensor: has .item() and ndim 0."""

    ndim = 0

    def item(self):
        return 0.25


def test_scalar_like_values_are_converted_and_others_refused():
    line = Event("r", "s", "progress", values={"loss": _Scalar()}, time=1.0).to_json_line()
    assert json.loads(line)["values"] == {"loss": 0.25}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        Event("r", "s", "progress", values={"bad": object()}, time=1.0).to_json_line()


def test_nan_loss_survives_round_trip():
    line = Event("r", "s", "progress", values={"loss": math.nan}, time=1.0).to_json_line()
    assert math.isnan(Event.from_dict(json.loads(line)).values["loss"])


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        {"stage": "s", "kind": "end", "time": 1.0},
        {"run": "r", "stage": "s", "kind": "end", "step": "3", "time": 1.0},
        {"run": "r", "stage": "s", "kind": "end", "step": True, "time": 1.0},
        {"run": "r", "stage": "s", "kind": "end", "values": [1], "time": 1.0},
        {"run": "r", "stage": "s", "kind": "end"},
    ],
)
def test_from_dict_rejects_malformed(data):
    with pytest.raises(EventFormatError):
        Event.from_dict(data)


def test_from_dict_accepts_unknown_kind_from_newer_writers():
    assert Event.from_dict({"run": "r", "stage": "s", "kind": "checkpoint", "time": 1}).kind == "checkpoint"
