"""Reading one method's settings from a suite mapping, as ``load_suite`` does (for the settings tests)."""

from __future__ import annotations

from pathlib import Path

from kdss_bench.config_reader import ConfigReader
from kdss_bench.methods.settings import read_settings


def read(cls, given, method: str = "m"):
    return read_settings(cls, given, ConfigReader(Path("suite.yaml")), ("methods", method))
