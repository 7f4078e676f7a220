"""Stage tests: each stage module's ``run`` called directly, as a stage job calls it once it holds the lock."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.runner import workspace
from kdss_bench.runner.workspace import Workspace


@pytest.fixture(autouse=True)
def _no_loaded_teachers(monkeypatch):
    """Teachers are cached per process by key; these tests want each workspace to read its own folder."""
    monkeypatch.setattr(workspace, "_TEACHERS", {})


def workspace_of(job) -> Workspace:
    return Workspace(job.suite, job.results_root, torch.device("cpu"))
