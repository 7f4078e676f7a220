"""What `kdss-bench run` prints while it works: stage counts, an ETA that says what it knows, life in a log."""

from __future__ import annotations

import io
import time

from rich.console import Console

from kdss_bench.config import load_suite
from kdss_bench.runner.console_progress import ConsoleProgress
from kdss_bench.runner.plan import build_plan, plan_status
from kdss_bench.runner.stage_estimates import Estimate
from kdss_bench.store.event import Event


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain(interval_s: float = 30.0, clock=None) -> tuple[ConsoleProgress, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    return ConsoleProgress(console, interval_s=interval_s, clock=clock or time.monotonic), buffer


def test_without_a_terminal_a_status_line_comes_at_a_steady_interval_even_when_no_event_does(write_suite):
    plan = build_plan(load_suite(write_suite()))
    progress, buffer = plain(interval_s=0.1)
    with progress:
        progress.on_plan(plan, plan_status(plan, "/nonexistent"))
        time.sleep(0.45)
    status = [line for line in buffer.getvalue().splitlines() if "stages 0/7, cells 0/4" in line]
    assert len(status) >= 3, buffer.getvalue()
    assert buffer.getvalue().splitlines()[0].startswith("plan: 7 stages to run (1 teacher, 1 distill, 1 pretrain, 4")


def test_the_eta_adds_known_stage_times_names_untimed_ones_and_learns_within_the_run(write_suite):
    suite = load_suite(write_suite())
    plan = build_plan(suite)
    clock = Clock()
    progress, buffer = plain(clock=clock)
    evaluations = [n for n in plan.nodes.values() if n.kind == "evaluate"]
    estimates = {node_id: None for node_id in plan.nodes}
    estimates[evaluations[0].id] = Estimate(10.0, 3)
    progress.on_plan(plan, plan_status(plan, "/nonexistent"), estimates)
    assert progress.eta_seconds() == (10.0, 6) and progress.eta_text() == "≥0:00:10 (+6 untimed)"
    teacher = next(n for n in plan.nodes.values() if n.kind == "teacher")
    progress.on_stage(teacher, "submitted")
    clock.now += 40.0
    progress.on_stage(teacher, "built")
    assert progress.eta_seconds() == (10.0, 5)
    # an evaluation's size is its target, recipe and model (not its method): once no_pretrain on lfw_faces
    # ran, krr_st on lfw_faces is timed by it too if it had no estimate (it has one here: 10 s from the index)
    lfw = next(n for n in evaluations if n.params["cell"] == "no_pretrain__lfw_faces__seed0")
    textures = next(n for n in evaluations if n.params["cell"] == "krr_st__textures3__seed0")
    progress.on_stage(lfw, "submitted")
    clock.now += 4.0
    progress.on_stage(lfw, "built")
    assert progress.eta_seconds() == (10.0, 4), "distill, pretrain and both textures3 evaluations are untimed"
    progress.on_stage(textures, "submitted")
    clock.now += 6.0
    progress.on_stage(textures, "built")
    assert progress.eta_seconds() == (16.0, 2), "no_pretrain on textures3 is timed by krr_st's 6 s there"


def test_a_running_stage_is_timed_by_its_measured_rate(write_suite):
    plan = build_plan(load_suite(write_suite()))
    clock = Clock()
    progress, _ = plain(clock=clock)
    progress.on_plan(plan, plan_status(plan, "/nonexistent"))
    distill = next(n for n in plan.nodes.values() if n.kind == "distill")
    run = f"tiny/{distill.owner}"
    progress.on_stage(distill, "submitted")
    progress(Event(run, "distill", "start", None, None, {"key": distill.key}, clock.now))
    progress(Event(run, "distill", "progress", 0, 100, {"phase": "pool_warm_start", "model": 1, "of": 2}, clock.now))
    assert distill.id in progress.waiting and progress.eta_seconds()[1] == 7, "warm-up: no rate yet"
    progress(Event(run, "distill", "progress", 10, 100, {"loss": 0.5}, clock.now))
    clock.now += 20.0
    progress(Event(run, "distill", "progress", 30, 100, {"loss": 0.4}, clock.now))  # 1 step/s, 70 to go
    seconds, unknown = progress.eta_seconds()
    assert seconds == 70.0 and unknown == 6


def test_plain_lines_say_resumed_cancelled_and_what_a_warm_up_is_doing(write_suite):
    plan = build_plan(load_suite(write_suite()))
    progress, buffer = plain()
    progress.on_plan(plan, plan_status(plan, "/nonexistent"))
    cell = "tiny/krr_st__lfw_faces__seed0"
    progress(Event(cell, "distill", "start", None, None, {}, 0.0))
    progress(Event(cell, "distill", "metric", 100, 300, {"resumed_from": 100}, 0.0))
    progress(Event(cell, "distill", "progress", 0, 300, {"phase": "pool_warm_start", "model": 3, "of": 10}, 0.0))
    progress.tick()
    progress(Event(cell, "cell", "error", None, None, {"message": "cancelled"}, 0.0))
    text = buffer.getvalue()
    assert "distill krr_st__lfw_faces__seed0: resumed from step 100" in text
    assert "pool warm start: model 3 of 10" in text
    assert "cancelled krr_st__lfw_faces__seed0" in text and "failed" not in text
