"""Suite texts derived from the tiny suite for runner tests."""

from __future__ import annotations

from tests.conftest import TINY_SUITE


def changed_finetune() -> str:
    return TINY_SUITE.replace("finetune: {iterations: 4, batch_size: 16}", "finetune: {iterations: 3, batch_size: 16}")
