"""Network architectures of the official KRR-ST code, built by name (see :mod:`.registry`)."""

from __future__ import annotations

from kdss_bench.models.registry import build_model, check_model_name, model_names

__all__ = ["build_model", "check_model_name", "model_names"]
