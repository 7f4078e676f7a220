"""kdss_bench.runner.plan_report: ``kdss-bench plan`` as JSON and as a tree, with status and estimates."""

from __future__ import annotations

import json

from rich.console import Console

from kdss_bench.runner.plan import CACHED, TO_RUN
from kdss_bench.runner.plan_report import _duration, plan_json, plan_tree


def render(tree) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(tree)
    return console.export_text()


def test_the_json_of_an_unrun_suite(tiny_plan, tmp_path):
    _, plan = tiny_plan
    data = plan_json(plan, tmp_path / "results")
    assert data["suite"] == "tiny" and data["results"] == str(tmp_path / "results")
    assert data["cells"] == [cell.id for cell in plan.cells]
    assert [node["id"] for node in data["nodes"]] == list(plan.nodes)
    assert data["summary"] == {CACHED: 0, TO_RUN: 7, "running elsewhere": 0, "missing": 0}
    assert data["estimated_s"] is None and data["unestimated"] == 7
    by_kind = {node["kind"]: node for node in data["nodes"]}
    teacher, distill = by_kind["teacher"], by_kind["distill"]
    assert teacher["dependants"] == [distill["id"]] and distill["deps"] == [teacher["id"]]
    assert teacher["cells"] == ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0"]
    assert teacher["owner"] == "krr_st__lfw_faces__seed0" and teacher["resources"] == {
        "gpus": None, "cpus": None, "memory_gb": None}
    assert all(node["estimate_s"] is None and node["estimate_samples"] == 0 for node in data["nodes"])
    json.dumps(data)  # plain JSON


def test_the_json_of_a_finished_suite_is_all_cached_with_its_recorded_costs(tiny_done):
    data = plan_json(tiny_done.plan, tiny_done.results)
    assert data["summary"][CACHED] == 7 and data["unestimated"] == 0 and data["estimated_s"] is None
    assert all(node["estimate_samples"] >= 1 and node["estimate_s"] >= 0 for node in data["nodes"])
    assert {node["estimate_samples"] for node in data["nodes"] if node["kind"] == "evaluate"} == {2}


def test_the_tree_shows_every_stage_once_under_its_first_dependency(tiny_plan, tmp_path):
    _, plan = tiny_plan
    text = render(plan_tree(plan, tmp_path / "results"))
    lines = text.splitlines()
    assert lines[0] == "suite tiny: 7 stages for 4 cells (7 to run) (7 stage(s) without an estimate)"
    assert text.count("distill krr_st (12 images)") == 1 and text.count("finetune ") == 4
    for node in plan.nodes.values():
        assert text.count(node.key[:12]) == 1, node.label
    teacher_line = next(i for i, line in enumerate(lines) if line.lstrip("└├─│ ").startswith("teacher"))
    distill_line = next(i for i, line in enumerate(lines) if "distill krr_st" in line)
    assert distill_line > teacher_line and len(lines[distill_line]) - len(lines[distill_line].lstrip("└├─│ ")) > \
        len(lines[teacher_line]) - len(lines[teacher_line].lstrip("└├─│ ")), "the distillation hangs under the teacher"
    assert "-> 2 cell(s)" in lines[teacher_line] and "to run" in lines[teacher_line]


def test_a_finished_suite_tree_says_cached_and_shows_no_cost(tiny_done):
    text = render(plan_tree(tiny_done.plan, tiny_done.results))
    assert text.splitlines()[0] == "suite tiny: 7 stages for 4 cells (7 cached)"
    assert "~" not in text and "to run" not in text


def test_durations_read_in_seconds_minutes_then_hours():
    assert [_duration(s) for s in (0.4, 89, 90, 5399, 5400, 36_000)] == ["0 s", "89 s", "2 min", "90 min", "1.5 h",
                                                                         "10.0 h"]
