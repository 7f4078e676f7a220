"""Fixtures of the data tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_datasets(monkeypatch: pytest.MonkeyPatch):
    """No dataset loaded or prepared-cache warning given before the test, none left after it."""
    from kdss_bench.data import prepared_cache
    from kdss_bench.data.registry import clear_dataset_cache

    clear_dataset_cache()
    monkeypatch.setattr(prepared_cache, "_WARNED", set())
    yield
    clear_dataset_cache()
