"""Property test: any mutation of a shipped suite gives a valid Suite or one clean line of error.

Mutations of the parsed data (deleted keys, swapped types, huge, negative, zero and NaN numbers,
unicode and control characters, long strings, deep nesting) and of the text (aliases, alias
bombs, self-references, duplicated lines, stray bytes that are not UTF-8) must never raise
anything but a KdssError whose message is one printable line, and must never take long.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdss_bench.config import TOP_LEVEL_KEYS, Suite, load_suite
from kdss_bench.data.registry import dataset_names, declared_keys
from kdss_bench.errors import KdssError
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.train.recipes import ClassifierPretrainRecipe, FinetuneRecipe, LabelRegressionPretrainRecipe

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "suites").rglob("*.yaml"))
PARSED = {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in SHIPPED}
SECONDS_PER_EXAMPLE = 2.0

_numbers = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**12, -(10**12), 10**400, 7, 1000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e308, 5e-324]),
)
RECIPES = {"pretrain_classifier": ClassifierPretrainRecipe, "finetune": FinetuneRecipe,
           "pretrain_label_regression": LabelRegressionPretrainRecipe}
FORMATS = ("npz", "bundled", "torchvision", "imagefolder")


def _keys_at(path: tuple) -> list[str]:
    """Keys the schema accepts where ``path`` points (a mapping), so an added key is often a real setting."""
    parts = [str(p) for p in path]
    if not parts:
        return list(TOP_LEVEL_KEYS)
    if parts == ["methods"]:
        return method_names()
    if len(parts) == 2 and parts[0] == "methods" and parts[1] in method_names():
        return [f.name for f in dataclasses.fields(method_info(parts[1]).settings)]
    if parts == ["teacher"]:
        return ["checkpoint", "train", "arch", "epochs", "batch_size", "lr", "projector_dims", "seed"]
    if parts == ["datasets"]:
        return dataset_names()
    if len(parts) == 2 and parts[0] == "datasets":
        return sorted({key for fmt in FORMATS for key in declared_keys(fmt)})
    if parts[0] in RECIPES:
        return [f.name for f in dataclasses.fields(RECIPES[parts[0]])]
    return list(TOP_LEVEL_KEYS)


_texts = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8"), min_size=190, max_size=260),
    st.sampled_from(["", " ", "a/b", "..", "x\n", "tab\there", "dtd10", "digits", "krr_st", "random",
                     "fast", "normalize_only", "none", "1e-4", ".nan", "\u2028", "caf\u00e9", "x" * 201]),
)
_leaves = st.one_of(_numbers, _texts, st.none(), st.booleans())
_values = st.recursive(_leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(_texts, inner, max_size=3)),
                       max_leaves=8)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into the parsed tree (mapping keys and list indices), the root excluded."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _parent(tree: Any, path: tuple) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _like(value: Any) -> st.SearchStrategy:
    """A replacement of the same kind most of the time (a number for a number), anything sometimes."""
    if isinstance(value, bool):
        return st.one_of(st.booleans(), _values)
    if isinstance(value, (int, float)):
        return st.one_of(_numbers, _numbers, _values)
    if isinstance(value, str):
        return st.one_of(_texts, st.sampled_from([*method_names(), *dataset_names(), *FORMATS]), _values)
    return _values


def _key_for(path: tuple) -> st.SearchStrategy:
    keys = _keys_at(path)
    return st.one_of(st.sampled_from(keys), st.sampled_from(keys), _texts) if keys else _texts


_mutations = st.sampled_from(["delete", "replace", "replace", "replace", "replace", "add", "add", "rename", "nest"])


def _mutate_tree(data: st.DataObject, tree: dict) -> None:
    kind = data.draw(_mutations)
    path = data.draw(st.sampled_from(_paths(tree)))
    parent = _parent(tree, path)
    if kind == "delete":
        del parent[path[-1]]
    elif kind == "replace":
        parent[path[-1]] = data.draw(_like(parent[path[-1]]))
    elif kind == "nest":
        depth = data.draw(st.one_of(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=6),
                                    st.integers(min_value=1, max_value=1500)))
        parent[path[-1]] = _nested(depth)
    elif kind == "add":
        where = path if isinstance(parent[path[-1]], dict) else path[:-1]
        target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
        if isinstance(target, dict):
            target[data.draw(_key_for(where))] = data.draw(_values)
    elif isinstance(parent, dict):  # rename
        parent[data.draw(_key_for(path[:-1]))] = parent.pop(path[-1])


ALIAS_SNIPPETS = [
    "seeds: &R [0, *R]\n",
    "methods: &M {random: *M}\n",
    "".join(f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" if i else "b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            for i in range(8)) + "seeds: *b7\n",
    "x: &x [[[[[[[[[[0]]]]]]]]]]\ny: &y [[[[[[[[[[*x]]]]]]]]]]\nz: &z [[[[[[[[[[*y]]]]]]]]]]\nseeds: [*z, *z]\n",
    "pretrain: &p {epochs: 1}\nfinetune: *p\n",
    "seeds: *undefined\n",
    "<<: {name: merged}\n",
]


TAGS = ["!!bool", "!!int", "!!float", "!!timestamp", "!!binary", "!!str", "!!null", "!!map", "!!seq", "!!set",
        "!!omap", "!custom", "!!python/name:os.system", "!!python/object/apply:os.system"]
_escapes = st.builds(lambda kind, digits: f'"\\{kind}{digits}"', st.sampled_from(["U", "u", "x", "N", "L"]),
                     st.text("0123456789abcdefABCDEF", min_size=0, max_size=8))
_tagged = st.one_of(_escapes, st.builds(lambda tag, text: f"{tag} {text}", st.sampled_from(TAGS),
                                        st.text("0123456789abcdefxyz.-:_+ eE", max_size=12)))


def _mutate_text(data: st.DataObject, text: str) -> bytes:
    kind = data.draw(st.sampled_from(["none", "none", "none", "alias", "duplicate_line", "insert", "bytes", "deep",
                                      "tag"]))
    lines = text.splitlines(keepends=True) or [""]
    if kind == "tag":  # a value replaced by an explicitly tagged scalar or an escape
        valued = [i for i, line in enumerate(lines) if ": " in line]
        if valued:
            i = data.draw(st.sampled_from(valued))
            lines[i] = lines[i][: lines[i].index(": ") + 2] + data.draw(_tagged) + "\n"
            text = "".join(lines)
    elif kind == "alias":
        text += data.draw(st.sampled_from(ALIAS_SNIPPETS))
    elif kind == "duplicate_line":
        line = data.draw(st.sampled_from(lines))
        text = text + (line if line.endswith("\n") else line + "\n")
    elif kind == "insert":
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + data.draw(st.text(st.sampled_from("[]{}:,-&*!|>'\"#%@`\n\t \\?<"), max_size=4)) + text[at:]
    elif kind == "deep":
        depth = data.draw(st.integers(min_value=20, max_value=3000))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    raw = text.encode("utf-8")
    if kind == "bytes":
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=3)) + raw[at:]
    return raw


def mutated_suite(data: st.DataObject) -> bytes:
    """A shipped suite with one to three mutations of its data, then possibly one of its text."""
    tree = yaml.safe_load(yaml.safe_dump(PARSED[data.draw(st.sampled_from(sorted(PARSED)))]))
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        if isinstance(tree, dict) and _paths(tree):
            _mutate_tree(data, tree)
    try:
        text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=200)
    except (RecursionError, yaml.YAMLError):  # the dumper itself cannot write some trees
        text = yaml.safe_dump(PARSED["gate.yaml"], sort_keys=False)
    return _mutate_text(data, text)


def check_one(raw: bytes, path: Path) -> None:
    """The property: a valid Suite, or a KdssError of one non-empty printable line; quickly."""
    path.write_bytes(raw)
    started = time.perf_counter()
    try:
        suite = load_suite(path, check_files=False)
    except KdssError as error:
        message = str(error)
        assert message and message.isprintable(), repr(message)
    else:
        assert isinstance(suite, Suite)
        assert all(line and line.isprintable() for line in suite.warnings), suite.warnings
    assert time.perf_counter() - started < SECONDS_PER_EXAMPLE, "validation must stay fast"


_WORK = Path(tempfile.mkdtemp(prefix="kdss-fuzz-"))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_shipped_suites_load_or_fail_in_one_clean_line(data):
    check_one(mutated_suite(data), _WORK / "suite.yaml")


def test_every_shipped_suite_loads_unmutated():
    for path in SHIPPED:
        check_one(path.read_bytes(), _WORK / path.name)
