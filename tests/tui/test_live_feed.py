"""kdss_bench.tui.live_feed: one poll of the results folder, off the UI thread: what changed since the last one
(cells, results, the watched cell's preview), reading problems said rather than raised, one poll at a time."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from kdss_bench.store.event import Event
from kdss_bench.store.live_runs import LiveRuns
from kdss_bench.store.preview_file import write_preview
from kdss_bench.store.run_dir import RunDir
from kdss_bench.tui.live_feed import LiveFeed
from kdss_bench.tui.run_launcher import RunLauncher

from .fixed_results import DONE, NOW, PLAN, RUNNING, SUITE


def feed_of(root, live=None) -> LiveFeed:
    return LiveFeed(root, RunLauncher(root), live)


def test_the_first_poll_has_every_cell_then_only_what_changed(demo_results):
    feed = feed_of(demo_results)
    first = feed.poll()
    keys = [(SUITE, cell) for cell in PLAN]
    assert list(first.order) == keys and first.changed == frozenset(keys) and set(first.cells) == set(keys)
    assert first.cells[(SUITE, RUNNING)].status == "running" and first.cells[(SUITE, RUNNING)].step == 60
    assert first.alive == {SUITE: True} and first.runs == {SUITE: [f"inline, pid {os.getpid()}"]}
    assert [row["cell"] for row in first.planned[SUITE]] == PLAN
    assert sorted(row["cell"] for row in first.result_rows) == sorted(DONE)
    assert first.preview is None and first.problems == [] and first.ended == [] and not first.empty

    second = feed.poll()
    assert second.empty and second.changed == frozenset() and second.cells == {} and second.result_rows is None
    assert second.order == first.order, "the order is always whole"

    run = RunDir(demo_results, SUITE, RUNNING)
    with run.event_log() as log:
        log.append(Event(run.run_id, "distill", "progress", 70, 120, {"loss": 0.1}, NOW))
    third = feed.poll()
    assert third.changed == {(SUITE, RUNNING)} and third.cells[(SUITE, RUNNING)].step == 70
    assert third.cells[(SUITE, RUNNING)] is not first.cells[(SUITE, RUNNING)], "a new state, not the old one changed"
    assert first.cells[(SUITE, RUNNING)].step == 60


def test_results_are_sent_again_only_when_a_result_file_changed(demo_results):
    feed = feed_of(demo_results)
    feed.poll()
    assert feed.poll().result_rows is None
    path = RunDir(demo_results, SUITE, RUNNING).result_path
    path.write_text(json.dumps({"suite": SUITE, "cell": RUNNING, "method": "krr_st", "target": "textures3",
                                "seed": 0, "accuracy": 40.0, "finished_at": "2026-05-29T00:01:00Z"}))
    rows = feed.poll().result_rows
    assert rows is not None and len(rows) == len(DONE) + 1
    assert feed.poll().result_rows is None


def test_the_watched_cells_preview_is_sent_when_it_is_new(demo_results):
    feed = feed_of(demo_results)
    key = (SUITE, RUNNING)
    sent = feed.poll(key).preview
    assert sent[0] == key and sent[1].images.shape == (4, 8, 8, 3) and (sent[1].step, sent[1].total) == (60, 120)
    assert feed.poll(key).preview is None, "unchanged: not sent again"
    feed.forget_preview()
    assert feed.poll(key).preview[1].step == 60, "a detail screen that just opened gets it again"
    write_preview(demo_results / SUITE / RUNNING / "preview.npz", np.zeros((2, 3, 8, 8), np.float32), step=70,
                  total=120)
    assert feed.poll(key).preview[1].step == 70
    (demo_results / SUITE / RUNNING / "preview.npz").unlink()
    assert feed.poll(key).preview == (key, None), "gone: the screen clears its images"
    assert feed.poll(key).preview is None
    assert feed.poll(None).preview is None


def test_a_torn_preview_is_sent_as_none_and_read_again_once_whole(demo_results):
    feed = feed_of(demo_results)
    key = (SUITE, RUNNING)
    path = demo_results / SUITE / RUNNING / "preview.npz"
    path.write_bytes(b"not a zip file")
    assert feed.poll(key).preview == (key, None) and feed.poll(key).preview is None
    write_preview(path, np.zeros((2, 3, 8, 8), np.float32), step=80, total=120)
    assert feed.poll(key).preview[1].step == 80


def test_a_failing_read_is_a_problem_of_the_poll_not_an_exception(demo_results):
    class Failing(LiveRuns):
        def poll(self):
            raise OSError("disk went away")

        def preview(self, suite, cell):
            raise ValueError("torn")

    update = feed_of(demo_results, Failing(demo_results)).poll((SUITE, RUNNING))
    assert update.changed == frozenset() and update.preview == ((SUITE, RUNNING), None)
    assert update.problems == [f"reading {demo_results} failed: OSError: disk went away",
                               f"preview of {RUNNING} unreadable: ValueError: torn"]
    assert not update.empty


def test_a_poll_while_another_runs_returns_none(demo_results):
    entered, release = threading.Event(), threading.Event()

    class Slow(LiveRuns):
        def poll(self):
            entered.set()
            assert release.wait(10)
            return super().poll()

    feed = feed_of(demo_results, Slow(demo_results))
    found = []
    worker = threading.Thread(target=lambda: found.append(feed.poll()))
    worker.start()
    try:
        assert entered.wait(10)
        assert feed.poll() is None
    finally:
        release.set()
        worker.join(10)
    assert len(found[0].order) == len(PLAN)


@pytest.mark.parametrize("watched", [None, (SUITE, "no_such_cell")])
def test_nothing_to_preview_is_said_once(demo_results, watched):
    feed = feed_of(demo_results)
    first = feed.poll(watched).preview
    assert first == (None if watched is None else (watched, None)) and feed.poll(watched).preview is None
