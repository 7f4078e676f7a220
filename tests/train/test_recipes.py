"""Recipes: one torch-free definition of each training recipe's defaults and checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.train.dsa_augment import FAMILIES
from kdss_bench.train.dsa_strategy import FAMILY_NAMES
from kdss_bench.train.recipes import (
    ClassifierPretrainRecipe,
    FinetuneRecipe,
    KdRecipe,
    LabelRegressionPretrainRecipe,
    LinearProbeRecipe,
    PretrainRecipe,
    TargetTeacherRecipe,
    recipe_defaults,
)


def test_recipes_import_without_torch():
    code = "import sys, kdss_bench.train.recipes, kdss_bench.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_defaults_are_the_official_values_in_field_order():
    assert recipe_defaults(PretrainRecipe) == {"epochs": 1000, "batch_size": 256, "lr": 0.1, "momentum": 0.9,
                                               "weight_decay": 1e-3}
    assert list(recipe_defaults(ClassifierPretrainRecipe)) == [
        "epochs", "batch_size", "lr", "momentum", "weight_decay", "milestone_fraction", "dsa", "dsa_strategy"]
    assert recipe_defaults(LinearProbeRecipe)["batch_size"] == 512


def test_kd_defaults_are_the_official_test_kd_values():
    assert recipe_defaults(KdRecipe) == {
        "epochs": 1000, "batch_size": 512, "lr": 1e-4, "gaussian_lr": 1e-3, "weight_decay": 0.0, "temperature": 1.0,
        "teacher_mode": "train", "student_eval_mode": "train", "test_batch_size": 512, "dsa": True,
        "dsa_strategy": "color_crop_cutout_flip_scale_rotate"}
    assert KdRecipe.SECTION == "kd" and TargetTeacherRecipe.SECTION == "kd_teacher"
    assert recipe_defaults(TargetTeacherRecipe) == {"epochs": 200, "batch_size": 128, "lr": 0.1, "momentum": 0.9,
                                                    "weight_decay": 5e-4}
    assert KdRecipe(teacher_mode="eval", student_eval_mode="eval", epochs=0).epochs == 0


@pytest.mark.parametrize("recipe,change,key,fragment", [
    (PretrainRecipe, {"batch_size": 0}, ("pretrain", "batch_size"), "expected a positive integer, got 0"),
    (FinetuneRecipe, {"iterations": -1}, ("finetune", "iterations"), "non-negative"),
    (LinearProbeRecipe, {"lr": float("nan")}, ("linear_probe", "lr"), "finite number >= 0, got nan"),
    (LabelRegressionPretrainRecipe, {"warmup": -5}, ("pretrain_label_regression", "warmup"), "non-negative"),
    (ClassifierPretrainRecipe, {"milestone_fraction": 2.0}, ("pretrain_classifier", "milestone_fraction"), "[0, 1]"),
    (ClassifierPretrainRecipe, {"dsa_strategy": "blur"}, ("pretrain_classifier", "dsa_strategy"), "'blur'"),
    (KdRecipe, {"epochs": -1}, ("kd", "epochs"), "non-negative integer, got -1"),
    (KdRecipe, {"batch_size": 0}, ("kd", "batch_size"), "positive integer"),
    (KdRecipe, {"test_batch_size": 0}, ("kd", "test_batch_size"), "positive integer, got 0"),
    (KdRecipe, {"temperature": 0.0}, ("kd", "temperature"), "> 0, got 0"),
    (KdRecipe, {"temperature": -1.0}, ("kd", "temperature"), "finite number >= 0"),
    (KdRecipe, {"gaussian_lr": float("inf")}, ("kd", "gaussian_lr"), "finite number"),
    (KdRecipe, {"teacher_mode": "frozen"}, ("kd", "teacher_mode"), "one of train, eval, got 'frozen'"),
    (KdRecipe, {"student_eval_mode": "Eval"}, ("kd", "student_eval_mode"), "one of train, eval, got 'Eval'"),
    (KdRecipe, {"dsa_strategy": "blur"}, ("kd", "dsa_strategy"), "'blur'"),
    (TargetTeacherRecipe, {"epochs": -3}, ("kd_teacher", "epochs"), "non-negative"),
    (TargetTeacherRecipe, {"batch_size": 0}, ("kd_teacher", "batch_size"), "positive integer"),
    (TargetTeacherRecipe, {"momentum": -0.5}, ("kd_teacher", "momentum"), "finite number >= 0"),
])
def test_a_bad_value_names_its_suite_key(recipe, change, key, fragment):
    with pytest.raises(SettingError) as caught:
        recipe(**change)
    assert caught.value.key == key and fragment in caught.value.problem
    assert isinstance(caught.value, ConfigError) and str(caught.value).startswith(f"key '{'.'.join(key)}': ")


def test_the_strategy_names_are_the_augmentation_families():
    assert FAMILY_NAMES == tuple(FAMILIES)
