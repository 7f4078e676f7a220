"""kdss_bench.trackers.event_tags: which of an event's values a tracker logs, and under which names."""

from __future__ import annotations

import pytest

from kdss_bench.trackers.event_tags import event_group, event_scalars, event_text, outcome_of, plain_values
from tests.trackers.stand_in_trackers import event


def test_a_stages_numbers_are_named_by_stage_and_key_and_the_rest_left_out():
    progress = event("c", "distill", "progress", 3, loss=0.5, lr=1e-3, note="text", flag=True, steps=4,
                     bad=float("nan"), far=float("inf"), count=2)
    assert event_group(progress) == "distill"
    assert event_scalars(progress) == {"distill/loss": 0.5, "distill/lr": 1e-3, "distill/steps": 4.0,
                                       "distill/count": 2.0}, "strings, booleans and non-finite numbers are not"


@pytest.mark.parametrize("kind", ["metric", "end"])
def test_metrics_and_ends_give_scalars_too(kind):
    assert event_scalars(event("c", "finetune", kind, accuracy=51.5)) == {"finetune/accuracy": 51.5}


@pytest.mark.parametrize("kind", ["start", "error", "other"])
def test_starts_and_errors_give_no_scalars(kind):
    assert event_scalars(event("c", "distill", kind, wall_time_s=1.0)) == {}


def test_a_phase_is_its_own_group_without_its_counters_and_an_expert_has_its_own():
    warm = event("c", "distill", "progress", 0, phase="pool warm/start", model=2, of=4, steps=9, loss=0.3)
    assert event_group(warm) == "distill/pool_warm_start", "no '/' or space inside a part"
    assert event_scalars(warm) == {"distill/pool_warm_start/loss": 0.3}
    expert = event("c", "mtt_experts", "progress", 5, phase="training", expert=2, experts=3, loss=0.1)
    assert event_group(expert) == "mtt_experts/training/expert2"
    assert event_scalars(expert) == {"mtt_experts/training/expert2/loss": 0.1}
    same = event("c", "mtt_experts", "progress", 5, phase="mtt_experts", expert=1, loss=0.2)
    assert event_group(same) == "mtt_experts/expert1", "a phase named as its stage adds no part"
    assert event_group(event("c", "distill", "progress", 1, expert=1)) == "distill", "an expert needs a phase"
    assert event_scalars(event("c", "distill", "progress", 1, model=3)) == {"distill/model": 3.0}, \
        "outside a phase, counters are numbers like others"


def test_a_key_with_slashes_or_spaces_is_one_part():
    assert event_scalars(event("c", "finetune", "metric", **{"top 1/acc": 1.0, " ": 2.0})) == {
        "finetune/top_1_acc": 1.0, "finetune/_": 2.0}


def test_a_start_names_where_it_runs_in_order_and_an_error_its_message():
    start = event("c", "distill", "start", worker="cpu0", key="a862", executor="local", pid=42, gpus=None, host="",
                  cached=False)
    assert event_text(start) == ("distill/start", "key a862, executor local, worker cpu0, pid 42, cached False")
    assert event_text(event("c", "teacher", "start")) == ("teacher/start", "started")
    assert event_text(event("c", "finetune", "error", message="RuntimeError: boom")) == ("finetune/error",
                                                                                       "RuntimeError: boom")
    assert event_text(event("c", "finetune", "error")) == ("finetune/error", "failed")
    assert event_text(event("c", "finetune", "progress", 1, loss=1.0)) is None


def test_a_cells_outcome():
    assert outcome_of(event("c", "cell", "end", accuracy=1.0)) == "finished"
    assert outcome_of(event("c", "cell", "error", message="cancelled")) == "cancelled"
    assert outcome_of(event("c", "cell", "error", message="interrupted")) == "cancelled", "older runners' word"
    assert outcome_of(event("c", "cell", "error", message="ValueError: x")) == "failed"


def test_plain_values_keep_numbers_and_strings_without_the_traceback():
    values = {"message": "boom", "traceback": "Traceback ...", "accuracy": 1.5, "step": 3, "flag": True,
              "nested": {"a": 1}, "none": None}
    assert plain_values(values) == {"message": "boom", "accuracy": 1.5, "step": 3}
