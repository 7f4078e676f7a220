"""kdss_bench.methods.intermediates: a method's cached pieces, keyed like the artifact cache keys them."""

from __future__ import annotations

import dataclasses

import torch

from kdss_bench.methods.intermediates import Intermediate, IntermediateRequest, method_intermediates
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.methods.settings import KrrStSettings
from kdss_bench.store.artifact_cache import intermediate_key

from .tiny_sources import tiny_source


def piece(**parts) -> Intermediate:
    return Intermediate("mtt_experts", parts, label="expert", size={"epochs": 2}, build=lambda folder, emit: None)


def test_the_key_is_the_artifact_caches_key_of_name_and_parts():
    expert = piece(seed=3, epochs=2)
    assert expert.key == intermediate_key("mtt_experts", {"seed": 3, "epochs": 2})
    assert piece(seed=4, epochs=2).key != expert.key
    assert dataclasses.replace(expert, build=print) == expert, "build is not part of equality"


def test_a_method_without_the_hook_has_no_intermediates():
    request = IntermediateRequest(source=tiny_source(), settings=KrrStSettings(), model="convnet_4_bn", seed=0)

    class Plain:
        pass

    assert method_intermediates(Plain(), request) == []


def test_the_hook_is_called_with_the_request_and_its_pieces_are_listed_in_order():
    seen = []

    class WithExperts:
        def intermediates(self, request):
            seen.append(request)
            return (piece(seed=s) for s in range(request.settings.num_experts))

    request = IntermediateRequest(source=tiny_source(), settings=MttSettings(num_experts=3), model="convnet_4_bn",
                                  seed=0, device=torch.device("cpu"))
    pieces = method_intermediates(WithExperts(), request)
    assert [p.parts["seed"] for p in pieces] == [0, 1, 2] and seen == [request]
    assert isinstance(pieces, list)


def test_the_real_mtt_lists_one_expert_per_trajectory_independent_of_the_distillation_seed():
    from kdss_bench.methods.registry import load_method

    settings = MttSettings(num_experts=2, train_epochs=2, max_start_epoch=1, expert_epochs=1)
    request = IntermediateRequest(source=tiny_source(), settings=settings, model="convnet_4_bn", seed=0)
    pieces = method_intermediates(load_method("mtt"), request)
    assert len(pieces) == 2 and len({p.key for p in pieces}) == 2
    again = method_intermediates(load_method("mtt"), dataclasses.replace(request, seed=7))
    assert [p.key for p in again] == [p.key for p in pieces], "experts are shared by every distillation seed"
    changed = method_intermediates(load_method("mtt"), dataclasses.replace(
        request, settings=dataclasses.replace(settings, expert_lr=0.05)))
    assert not {p.key for p in changed} & {p.key for p in pieces}
