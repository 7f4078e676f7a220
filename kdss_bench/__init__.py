"""kdss-bench: a benchmark suite for self-supervised dataset distillation for transfer learning."""

__version__ = "0.1.0"

PROTOCOL_VERSION = 1
"""Bumped whenever a change alters what a cached artifact or a result means."""
