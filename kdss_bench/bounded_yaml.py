"""YAML text -> plain Python data and the line of every key, parsed once, within a fixed budget.

``yaml.safe_load`` follows every alias as a copy and recurses once per nesting level, so a few
hundred bytes (eight levels of ten aliases each) expand to 10^8 values and a file nested a
thousand levels deep, or an alias that refers to the list holding it, ends in RecursionError.
Here the text is composed into nodes once (with the nesting depth bounded while composing) and
the data is built from those nodes by hand: at most :data:`MAX_DEPTH` levels and
:data:`MAX_VALUES` values after expanding aliases, no alias inside the collection it names, no
key given twice in one mapping, keys that are plain scalars. Merge keys (``<<: *defaults``)
work as in ``safe_load``. Every problem is one :class:`~kdss_bench.errors.ConfigError` line
``file:line: ...``.
"""

from __future__ import annotations

from typing import Any

import yaml

from kdss_bench.errors import ConfigError
from kdss_bench.printable import printable

KeyPath = tuple[str, ...]

MAX_DEPTH = 32
"""Nesting levels a suite may use (the shipped suites use 4)."""
MAX_VALUES = 10_000
"""Scalars, lists and mappings a suite may hold once every alias is expanded (the shipped suites hold < 200)."""

_TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
MERGE_TAG = _TAG + "merge"


def parse_yaml(text: str, where: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse one YAML document: (data, {key path: 1-based line}); ConfigError naming ``where`` and the line.

    The key path of a list item is its index as a string, as :class:`ConfigReader` spells keys.
    """
    loader = None
    try:
        loader = _DepthBoundedLoader(text, where)  # its reader refuses control characters right away
        node = loader.get_single_node()
        if node is None:
            return None, {}
        builder = _Builder(loader, where)
        return builder.build(node, (), 0), builder.lines
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_error_message(error, text, where)) from None
    except (ValueError, OverflowError) as error:  # the scanner's chr() of an escape like "\UFFFFFFFF"
        line = loader.get_mark().line + 1 if loader is not None else 1
        raise ConfigError(f"{where}:{line}: malformed YAML ({printable(str(error), 80)}: an escape names no "
                          "character); fix the escape at that line") from None
    finally:
        if loader is not None:
            loader.dispose()


class _DepthBoundedLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing to nest deeper than MAX_DEPTH.

    Its composer recurses once per level, and its scanner re-examines every open bracket at each
    token (quadratic in the number of open brackets), so both stop at the limit. It also stops
    after composing MAX_VALUES nodes, so a long file cannot keep it busy either.
    """

    def __init__(self, text: str, where: str) -> None:
        self._where = where
        self._depth = 0
        self._nodes = 0
        super().__init__(text)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _too_deep(self._where, self.get_mark().line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_deep(self._where, self.peek_event().start_mark.line + 1)
            if self._nodes > MAX_VALUES:
                raise _too_many(self._where, self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Builder:
    """Builds Python data from composed nodes, counting every value an alias repeats."""

    def __init__(self, loader: yaml.SafeLoader, where: str) -> None:
        self.loader, self.where = loader, where
        self.lines: dict[KeyPath, int] = {}
        self.values = 0
        self.open: set[int] = set()  # ids of the collections being built (an alias to one is a cycle)

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.values += 1
        line = node.start_mark.line + 1
        if self.values > MAX_VALUES:
            raise _too_many(self.where, line)
        if depth >= MAX_DEPTH:
            raise _too_deep(self.where, line)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.open:
            raise ConfigError(f"{self.where}:{line}: an alias (*name) refers to the list or mapping that contains "
                              "it, which would repeat forever; refer to something outside it")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
                return self.sequence(node, path, depth)
            if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
                return self.mapping(node, path, depth)
            raise self.unsupported_tag(node)
        finally:
            self.open.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in SCALAR_TAGS:
            raise self.unsupported_tag(node)
        try:
            return self.loader.construct_object(node)
        except yaml.YAMLError:
            raise
        except Exception as error:  # int() past 4,300 digits, a 30th of February, and what PyYAML's scalar
            # constructors raise for explicit tags they cannot read: !!bool maybe (KeyError), !!timestamp foo
            # (AttributeError), !!int "" (IndexError)
            reason = printable(f"{type(error).__name__}: {error}", 80)
            raise ConfigError(f"{self.where}:{node.start_mark.line + 1}: value "
                              f"'{printable(str(node.value), 40)}' cannot be read as "
                              f"{node.tag.replace(_TAG, '!!')} ({reason}); write a plain number or string") from None

    def sequence(self, node: yaml.SequenceNode, path: KeyPath, depth: int) -> list:
        items = []
        for index, item in enumerate(node.value):
            key = (*path, str(index))
            self.lines[key] = item.start_mark.line + 1
            items.append(self.build(item, key, depth + 1))
        return items

    def mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict:
        merged = self.merged(node, path, depth)
        explicit: dict[Any, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            key = self.key(key_node)
            name = str(key)
            if name in seen:
                dotted = printable(".".join((*path, name)))
                raise ConfigError(f"{self.where}:{line}: key '{dotted}': given twice (lines {seen[name]} and "
                                  f"{line}); keep one")
            seen[name] = line
            self.lines[(*path, name)] = line
            explicit[key] = self.build(value_node, (*path, name), depth + 1)
        result = {key: value for key, value in merged.items() if str(key) not in seen}
        result.update(explicit)
        return result

    def merged(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict:
        """What ``<<:`` keys bring in; as in safe_load, explicit keys win, then the first mapping listed."""
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in reversed(sources):
                if not isinstance(source, yaml.MappingNode):
                    raise ConfigError(f"{self.where}:{source.start_mark.line + 1}: '<<' merges mappings only; "
                                      "give a mapping or a list of mappings")
                merged.update(self.build(source, path, depth + 1))
        return merged

    def key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise ConfigError(f"{self.where}:{node.start_mark.line + 1}: a key must be a plain name, not a list or "
                              "mapping; write it as a name")
        return self.scalar(node)

    def unsupported_tag(self, node: yaml.Node) -> ConfigError:
        return ConfigError(f"{self.where}:{node.start_mark.line + 1}: unsupported YAML tag "
                           f"'{printable(str(node.tag), 40)}'; remove the tag (plain values, lists and mappings "
                           "only)")


def _too_deep(where: str, line: int) -> ConfigError:
    return ConfigError(f"{where}:{line}: nested more than {MAX_DEPTH} levels deep; a suite needs a few levels "
                       "(key: {setting: value}), flatten it")


def _too_many(where: str, line: int) -> ConfigError:
    return ConfigError(f"{where}:{line}: the suite holds more than {MAX_VALUES:,} values (keys, list items and "
                       "what aliases (*name) repeat); a suite needs a few hundred, remove the rest")


def _yaml_error_message(error: yaml.YAMLError, text: str, where: str) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    if isinstance(error, yaml.reader.ReaderError):  # a control character: the reader knows its offset only
        line = f":{text.count(chr(10), 0, error.position) + 1}"
    problem = getattr(error, "problem", None) or (str(error).splitlines() or ["unreadable"])[0]
    return f"{where}{line}: malformed YAML ({printable(problem, 120)}); fix the syntax at that line"
