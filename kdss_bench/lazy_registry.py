"""The one shape of the method, model and dataset registries: ``name -> entry``, imported lazily.

Each entry holds what is needed before anything heavy is imported (a summary, a settings class,
flags) and names its implementation as ``"module:attribute"``; :func:`import_target` imports it on
first use, so listing names and validating a suite never import torch. An unknown name is one
line that says what the registry holds and, where a registered name is close, which one was meant.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from kdss_bench.errors import ConfigError, KdssError

Entry = TypeVar("Entry")


class LazyRegistry(Generic[Entry]):
    """An ordered, read-only ``name -> Entry`` table; ``kind`` names what it holds in error messages."""

    def __init__(self, kind: str, entries: Mapping[str, Entry], *, error: type[KdssError] = ConfigError) -> None:
        self.kind = kind
        self._entries = dict(entries)
        self._error = error

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def items(self) -> Iterable[tuple[str, Entry]]:
        return self._entries.items()

    def get(self, name: str, *, hint: str = "") -> Entry:
        """The entry of ``name``; otherwise the registry's error, listing the names and suggesting one."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.unknown(name, hint=hint) from None

    def unknown(self, name: Any, *, hint: str = "") -> KdssError:
        """The one-line error for a name this registry does not hold."""
        known = list(self._entries)
        listing = hint or "registered: " + ", ".join(known)
        return self._error(f"unknown {self.kind} {str(name)!r}; {listing}{did_you_mean(name, known)}")


def did_you_mean(name: Any, known: Iterable[str]) -> str:
    """``"; did you mean 'krr_st'?"`` when a known name is close to ``name`` (case ignored), else ""."""
    if not isinstance(name, str):
        return ""
    by_lower = {candidate.lower(): candidate for candidate in known}
    if name.lower() in by_lower and by_lower[name.lower()] != name:
        return f"; did you mean {by_lower[name.lower()]!r}?"
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def import_target(target: str) -> Any:
    """The attribute named by ``"package.module:attribute"`` (dots in the attribute walk into it)."""
    module_name, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value
