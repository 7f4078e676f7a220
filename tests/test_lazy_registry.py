"""kdss_bench.lazy_registry: an ordered read-only table, one-line unknown-name errors with did-you-mean,
and implementations imported only when named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kdss_bench.errors import ConfigError, KdssError, ModelError
from kdss_bench.lazy_registry import LazyRegistry, did_you_mean, import_target


@pytest.fixture
def fruit() -> LazyRegistry[int]:
    return LazyRegistry("fruit", {"pear": 1, "apple": 2, "quince": 3})


def test_the_table_keeps_its_order_and_answers_membership(fruit):
    assert fruit.names() == ["pear", "apple", "quince"] == list(fruit)
    assert list(fruit.items()) == [("pear", 1), ("apple", 2), ("quince", 3)]
    assert "apple" in fruit and "plum" not in fruit and 3 not in fruit
    assert fruit.get("quince") == 3


def test_the_table_is_a_copy_of_what_it_was_given():
    given = {"pear": 1}
    table = LazyRegistry("fruit", given)
    given["plum"] = 2
    assert table.names() == ["pear"]


def test_an_unknown_name_is_one_line_listing_the_names_and_the_close_one(fruit):
    with pytest.raises(ConfigError) as caught:
        fruit.get("aple")
    assert str(caught.value) == "unknown fruit 'aple'; registered: pear, apple, quince; did you mean 'apple'?"
    with pytest.raises(ConfigError) as caught:
        fruit.get("banana")
    assert str(caught.value) == "unknown fruit 'banana'; registered: pear, apple, quince"


def test_an_unhashable_name_is_an_unknown_name_not_a_type_error(fruit):
    with pytest.raises(ConfigError) as caught:
        fruit.get(["pear"])
    assert str(caught.value) == "unknown fruit \"['pear']\"; registered: pear, apple, quince"


def test_a_hint_replaces_the_listing_and_the_error_type_is_the_registrys():
    models = LazyRegistry("model", {"convnet_8_16_bn": 1}, error=ModelError)
    with pytest.raises(ModelError) as caught:
        models.get("convnet_8_16_bm", hint="see kdss-bench ls models")
    assert isinstance(caught.value, KdssError)
    assert str(caught.value) == ("unknown model 'convnet_8_16_bm'; see kdss-bench ls models; "
                                 "did you mean 'convnet_8_16_bn'?")
    assert isinstance(models.unknown("x"), ModelError)


def test_did_you_mean_prefers_the_same_name_in_other_case_then_a_close_one():
    known = ["KRR_ST", "krr", "dsa"]
    assert did_you_mean("krr_st", known) == "; did you mean 'KRR_ST'?"
    assert did_you_mean("Krr", known) == "; did you mean 'krr'?"
    assert did_you_mean("dsaa", known) == "; did you mean 'dsa'?"
    assert did_you_mean("zzzzzz", known) == ""
    assert did_you_mean(12, known) == ""


def test_import_target_walks_into_a_module_and_its_attributes():
    assert import_target("kdss_bench.lazy_registry:LazyRegistry.get") is LazyRegistry.get
    assert import_target("kdss_bench.lazy_registry") is sys.modules["kdss_bench.lazy_registry"]
    with pytest.raises(ModuleNotFoundError):
        import_target("kdss_bench.no_such_module:x")
    with pytest.raises(AttributeError):
        import_target("kdss_bench.lazy_registry:no_such_attribute")


def test_the_registries_list_names_without_importing_torch():
    code = ("import sys; from kdss_bench.methods.registry import method_names; "
            "from kdss_bench.models.registry import model_names; from kdss_bench.data.registry import dataset_names; "
            "method_names(), model_names(), dataset_names(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
