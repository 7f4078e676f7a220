"""User-facing errors: one line that names the file, key or value and the fix.

The CLI catches :class:`KdssError` and prints its message without a traceback; any other
exception is a bug in kdss-bench.
"""

from __future__ import annotations


class KdssError(Exception):
    """An error caused by the user's input (a suite, a path, a name), printed as one line."""


class ConfigError(KdssError):
    """A suite file is malformed or names something that does not exist."""


class DataError(KdssError):
    """A dataset is missing, unreadable or has the wrong format."""


class ModelError(KdssError):
    """A model name does not match any registered architecture."""


class CheckpointError(KdssError):
    """A checkpoint or distilled-set file is missing or does not match what is expected."""


class SettingError(ConfigError):
    """A setting holds a value that cannot run. ``key`` is its path in the suite, e.g.
    ``("methods", "mtt", "syn_steps")``, so suite validation can point at the line, and a check
    made at run time still names the key."""

    def __init__(self, key: tuple[str, ...], problem: str) -> None:
        self.key, self.problem = tuple(key), problem
        super().__init__(f"key '{'.'.join(self.key)}': {problem}")

    def __reduce__(self):  # picklable although __init__ takes two arguments
        return (type(self), (self.key, self.problem))
