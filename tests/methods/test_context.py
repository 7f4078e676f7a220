"""kdss_bench.methods.context: what a method distils with, the facts its settings are checked on, previews."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from kdss_bench.errors import SettingError
from kdss_bench.methods.context import PREVIEWS_PER_RUN, DistillContext, local_artifact
from kdss_bench.methods.dsa_settings import DsaSettings
from kdss_bench.methods.settings import KrrStSettings

from .tiny_sources import tiny_source


def make_ctx(**changes) -> DistillContext:
    values = {"source": tiny_source(), "teacher": nn.Identity(), "budget": 6, "settings": KrrStSettings(),
              "model": "convnet_4_bn", "seed": 0, "device": torch.device("cpu")}
    return DistillContext(**{**values, **changes})


def test_facts_come_from_the_loaded_source():
    facts = make_ctx().facts()
    assert (facts.budget, facts.source, facts.num_classes, facts.train_images, facts.has_teacher) == (6, "tiny", 3, 18,
                                                                                                     True)
    assert make_ctx(teacher=None).facts().has_teacher is False


def test_check_settings_runs_the_settings_check_under_the_method_key():
    make_ctx().check_settings("krr_st")
    with pytest.raises(SettingError) as caught:
        make_ctx(teacher=None).check_settings("krr_st")
    assert caught.value.key == ("methods", "krr_st") and "needs a teacher" in caught.value.problem
    with pytest.raises(SettingError) as caught:
        make_ctx(budget=19).check_settings("krr_st")
    assert caught.value.key == ("budget",) and "exceeds the 18 training images of 'tiny'" in caught.value.problem
    with pytest.raises(SettingError) as caught:  # settings given explicitly win over ctx.settings
        make_ctx().check_settings("dsa", dataclasses.replace(DsaSettings(), batch_train=0))
    assert caught.value.key == ("methods", "dsa", "batch_train")


def test_without_a_preview_nothing_is_shown():
    ctx = make_ctx()
    ctx.show_images(torch.zeros(1, 3, 4, 4), 0, 10)  # no preview function: no error either
    ctx.show_images_if_due(torch.zeros(1, 3, 4, 4), 0, 10)
    ctx.emit("progress", step=1, loss=0.5)  # the default emit swallows events


def test_previews_come_at_the_start_every_total_over_twenty_steps_and_never_at_the_end_from_if_due():
    shown = []
    ctx = make_ctx(preview=lambda images, step=None, total=None: shown.append((step, total)))
    total = 1000
    for step in range(total + 1):
        ctx.show_images_if_due(torch.zeros(1, 3, 4, 4), step, total)
    every = total // PREVIEWS_PER_RUN
    assert [step for step, _ in shown] == list(range(0, total, every)) and {t for _, t in shown} == {total}
    shown.clear()
    for step in range(8):  # fewer steps than previews: every step
        ctx.show_images_if_due(torch.zeros(1, 3, 4, 4), step, 7)
    assert [step for step, _ in shown] == list(range(7))
    shown.clear()
    ctx.show_images(torch.zeros(1, 3, 4, 4), 7, 7)
    assert shown == [(7, 7)]


def test_local_artifact_builds_once_and_returns_the_cached_folder(tmp_path):
    artifact = local_artifact(tmp_path / "cache")
    built = []

    def build(folder):
        built.append(folder)
        (folder / "piece.txt").write_text("expert")

    first = artifact("experts", {"seed": 0}, build)
    second = artifact("experts", {"seed": 0}, build)
    assert first == second and len(built) == 1 and (first / "piece.txt").read_text() == "expert"
    other = artifact("experts", {"seed": 1}, build)
    assert other != first and len(built) == 2
