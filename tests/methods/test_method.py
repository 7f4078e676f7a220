"""kdss_bench.methods.method: a method is any module with ``distill(ctx)``; one that also has
``intermediates(request)`` has cached pieces. Checked structurally, at run time, without torch."""

from __future__ import annotations

import subprocess
import sys
import types

from kdss_bench.methods.method import Method, MethodWithIntermediates


def module(name: str, **attributes) -> types.ModuleType:
    made = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(made, key, value)
    return made


def test_a_module_with_distill_is_a_method_and_one_without_is_not():
    assert isinstance(module("plain", distill=lambda ctx: None), Method)
    assert not isinstance(module("empty"), Method)
    assert not isinstance(module("misnamed", distil=lambda ctx: None), Method)


def test_intermediates_make_a_method_with_cached_pieces_only_next_to_distill():
    both = module("both", distill=lambda ctx: None, intermediates=lambda request: [])
    assert isinstance(both, MethodWithIntermediates) and isinstance(both, Method)
    assert not isinstance(module("plain", distill=lambda ctx: None), MethodWithIntermediates)
    assert not isinstance(module("pieces_only", intermediates=lambda request: []), MethodWithIntermediates)


def test_the_shipped_implementations_satisfy_it_by_their_module():
    from kdss_bench.methods import krr_st, mtt

    assert isinstance(krr_st, Method) and not isinstance(krr_st, MethodWithIntermediates)
    assert isinstance(mtt, MethodWithIntermediates)


def test_the_protocols_import_no_torch():
    code = "import sys, kdss_bench.methods.method; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
