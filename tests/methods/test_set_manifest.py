"""kdss_bench.methods.set_manifest: the keys every distilled set's manifest carries."""

from __future__ import annotations

import torch
import yaml

from kdss_bench import PROTOCOL_VERSION
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.methods.settings import KrrStSettings

from .tiny_sources import tiny_source


def test_the_common_keys_trace_the_set_to_its_inputs():
    source = tiny_source()
    settings = KrrStSettings(outer_steps=3)
    ctx = DistillContext(source=source, teacher=None, budget=6, settings=settings, model="convnet_4_bn", seed=2,
                         device=torch.device("cpu"))
    manifest = common_manifest(ctx, "krr_st", input_space="raw", wall_time_s=1.23456, steps=3.0,
                               loss={"first": 1.0})
    assert manifest["method"] == "krr_st" and manifest["source"] == "tiny"
    assert manifest["source_fingerprint"] == source.fingerprint()
    assert (manifest["budget"], manifest["seed"], manifest["model"]) == (6, 2, "convnet_4_bn")
    assert manifest["settings"] == settings.as_dict() and manifest["settings"]["outer_steps"] == 3
    assert manifest["input_space"] == "raw" and manifest["loss"] == {"first": 1.0}
    assert manifest["normalization"] == {"mean": list(source.mean), "std": list(source.std)}
    assert manifest["cost"] == {"wall_time_s": 1.235, "steps": 3} and isinstance(manifest["cost"]["steps"], int)
    assert manifest["protocol_version"] == PROTOCOL_VERSION and manifest["versions"]["torch"] == str(torch.__version__)
    assert yaml.safe_load(yaml.safe_dump(manifest)) == manifest, "the manifest is written as plain YAML"
