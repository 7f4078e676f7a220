"""The method registry: every entry imports to a Method, unknown names suggest the closest one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kdss_bench.errors import ConfigError
from kdss_bench.methods.method import Method, MethodWithIntermediates
from kdss_bench.methods.registry import load_method, method_info, method_names, needs_teacher
from kdss_bench.methods.settings import MethodSettings

TARGET_KINDS = ("features", "hard", "soft", "none", "auto")


@pytest.mark.parametrize("name", method_names())
def test_every_entry_is_complete_and_loads_a_method(name):
    info = method_info(name)
    assert info.name == name and info.summary and info.target_kind in TARGET_KINDS
    assert issubclass(info.settings, MethodSettings)
    info.settings()  # the defaults are valid settings
    method = load_method(name)
    if info.implementation is None:
        assert method is None and info.target_kind == "none"
    else:
        assert isinstance(method, Method)
        assert isinstance(needs_teacher(name, info.settings()), bool)


def test_methods_with_cached_pieces_expose_them():
    assert {n for n in method_names() if isinstance(load_method(n), MethodWithIntermediates)} == {"mtt", "mkdt"}


def test_the_paper_methods_come_in_its_table_order():
    names = method_names()
    assert names[:8] == ["random", "kmeans", "dsa", "dm", "mtt", "kip", "frepo", "krr_st"]
    assert names[-1] == "no_pretrain"


@pytest.mark.parametrize("typo, meant", [("krrst", "krr_st"), ("KRR_ST", "krr_st"), ("random_subset", "random"),
                                         ("no_pretraining", "no_pretrain")])
def test_an_unknown_name_names_the_closest_one(typo, meant):
    with pytest.raises(ConfigError, match=f"unknown method '{typo}'; registered: .*did you mean '{meant}'"):
        method_info(typo)


def test_listing_and_validating_import_no_torch():
    code = ("import sys; from kdss_bench.methods.registry import method_names, method_info; "
            "[method_info(n).settings() for n in method_names()]; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
