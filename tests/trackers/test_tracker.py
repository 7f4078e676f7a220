"""kdss_bench.trackers.tracker: the calls a tracker gets, each a no-op by default, so a tracker writes only
what it overrides."""

from __future__ import annotations

import numpy as np

from kdss_bench.trackers.tracker import Tracker
from kdss_bench.trackers.tracking_listener import TrackingListener
from tests.trackers.stand_in_trackers import event


def test_every_default_call_does_nothing_and_describe_is_the_name():
    tracker = Tracker()
    assert (tracker.name, tracker.fix, tracker.describe()) == ("tracker", "see the error above", "tracker")
    assert tracker.start_cell("c", {"budget": 12}) is None
    assert tracker.log_scalars("c", "distill", {"distill/loss": 1.0}, 1) is None
    assert tracker.log_text("c", "distill/start", "key k", 0) is None
    assert tracker.log_images("c", "distill/preview", np.zeros((1, 2, 2, 3), np.uint8), 0) is None
    assert tracker.end_cell("c", "finished", {"accuracy": 1.0}) is None
    assert tracker.close() is None


def test_a_tracker_that_overrides_one_call_gets_only_that_and_stays_on(tmp_path):
    class LossOnly(Tracker):
        name = "loss-only"

        def __init__(self):
            self.losses = []

        def log_scalars(self, cell, group, scalars, step):
            self.losses.append((step, scalars.get(f"{group}/loss")))

    tracker = LossOnly()
    assert tracker.describe() == "loss-only"
    with TrackingListener(None, [tracker], results_root=tmp_path) as listener:
        for item in (event("c", "cell", "start", 1), event("c", "distill", "start", key="k"),
                     event("c", "distill", "progress", 1, loss=0.5), event("c", "distill", "progress", 2, loss=0.25),
                     event("c", "cell", "end", 1, accuracy=10.0)):
            listener(item)
        assert listener.trackers == [tracker] and listener.failed == {}
    assert tracker.losses == [(1, 0.5), (2, 0.25), (1, None)]
