"""Suite validation: good suites load with the paper's defaults; bad ones fail in one clear line."""

from __future__ import annotations

import time

import pytest

from kdss_bench.config import FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS, load_suite
from kdss_bench.errors import ConfigError, KdssError
from kdss_bench.methods.settings import KrrStSettings

from .conftest import TINY_SUITE


def test_tiny_suite_loads_with_typed_settings(write_suite):
    suite = load_suite(write_suite())
    assert suite.name == "tiny" and suite.budget == 12 and suite.resolution == 16
    assert list(suite.methods) == ["krr_st", "no_pretrain"]
    krr = suite.methods["krr_st"]
    assert isinstance(krr, KrrStSettings) and krr.outer_steps == 4 and krr.pool_reset == "paper"
    assert krr.ridge == 1e-6 and krr.online_lr == 0.1, "unset settings keep the official values"
    assert suite.pretrain == {**PRETRAIN_DEFAULTS, "epochs": 2, "batch_size": 8}
    assert suite.finetune["lr"] == FINETUNE_DEFAULTS["lr"]
    assert suite.teacher.kind == "barlow_twins" and suite.teacher.projector_dims == (32, 32)


def test_methods_as_a_list_use_defaults(write_suite):
    text = TINY_SUITE.replace(
        "methods:\n  krr_st: {outer_steps: 4, lr: 0.01, real_batch: 32, pool_size: 2, online_iterations: 3, "
        "checkpoint_every: 0}\n  no_pretrain: {}\n", "methods: [krr_st, no_pretrain]\n")
    suite = load_suite(write_suite(text))
    assert suite.methods["krr_st"] == KrrStSettings()


def test_paper_fine_grained_targets_get_5000_iterations_by_default(write_suite):
    text = TINY_SUITE.replace("finetune: {iterations: 4, batch_size: 16}\n", "")
    suite = load_suite(write_suite(text))
    assert suite.finetune_for("aircraft")["iterations"] == 5000
    assert suite.finetune_for("lfw_faces")["iterations"] == 10_000


BAD_INPUTS = [
    ("methods:\n  krr_st:", "methods:\n  krr_sst:", "methods.krr_sst", "unknown method"),
    ("targets: [lfw_faces, textures3]", "targets: [lfw_faces, nope]", "targets.1", "dataset 'nope' is not"),
    ("model: convnet_8_16_bn", "model: convnet_8_16_xx", "'model'", "convnet"),
    ("budget: 12", "budget: -5", "'budget'", "positive integer"),
    ("budget: 12", "budget: 0", "'budget'", "positive integer"),
    ("budget: 12", "budget: twelve", "'budget'", "integer"),
    ("resolution: 16", "resolution: 0", "'resolution'", "positive"),
    ("resolution: 16", "resolution: 16.5", "'resolution'", "integer"),
    ("seeds: [0]", "seeds: zero", "'seeds'", "list of integers"),
    ("pretrain: {epochs: 2, batch_size: 8}", "pretrain: {epochs: 2, batch_size: 8, speed: 3}",
     "pretrain.speed", "unknown key"),
    ("lr: 0.01", "lr: fast", "methods.krr_st.lr", "number"),
    ("online_iterations: 3", "online_iterations: 3, pool_reset: sometimes", "methods.krr_st.pool_reset",
     "paper, official"),
    ("name: tiny", "name: a/b", "'name'", "folder"),
    ("source: digits", "sauce: digits", "'sauce'", "unknown key"),
]


@pytest.mark.parametrize("old,new,key,message", BAD_INPUTS)
def test_bad_input_names_file_line_and_key(write_suite, old, new, key, message):
    assert old in TINY_SUITE
    path = write_suite(TINY_SUITE.replace(old, new, 1))
    with pytest.raises(KdssError) as caught:
        load_suite(path)
    text = str(caught.value)
    assert "\n" not in text
    assert str(path) in text and key in text and message in text


def test_missing_required_key(write_suite):
    path = write_suite(TINY_SUITE.replace("source: digits\n", ""))
    with pytest.raises(KdssError, match=r"key 'source': is required"):
        load_suite(path)


def test_malformed_yaml_gives_the_line(write_suite):
    path = write_suite(TINY_SUITE.replace("budget: 12", "budget: [12"))
    with pytest.raises(KdssError, match=r"suite.yaml:\d+: malformed YAML"):
        load_suite(path)


def test_not_a_mapping(write_suite):
    with pytest.raises(KdssError, match="must be a YAML mapping"):
        load_suite(write_suite("- just\n- a list\n"))


def test_missing_suite_file(tmp_path):
    with pytest.raises(KdssError, match="suite file not found"):
        load_suite(tmp_path / "absent.yaml")


def test_missing_data_root_folder(write_suite, tmp_path):
    path = write_suite(TINY_SUITE + "data_root: /definitely/not/here\n")
    with pytest.raises(KdssError, match=r"key 'data_root': folder '/definitely/not/here' not found"):
        load_suite(path)
    with pytest.raises(KdssError, match="--data-root"):
        load_suite(path, data_root=tmp_path / "nope")


def test_missing_npz_file_of_a_declared_dataset(write_suite, tmp_path):
    text = TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [mine]") + (
        f"datasets:\n  mine: {{format: npz, path: {tmp_path / 'mine.npz'}}}\n")
    with pytest.raises(KdssError, match=r"targets\.0.*mine\.npz"):
        load_suite(write_suite(text))


def test_missing_teacher_checkpoint(write_suite, tmp_path):
    text = TINY_SUITE.replace(
        "teacher: {train: barlow_twins, arch: convnet_8_16_bn, epochs: 1, batch_size: 128, projector_dims: [32, 32]}",
        f"teacher: {{checkpoint: {tmp_path / 'teacher.pt'}}}")
    with pytest.raises(KdssError, match=r"teacher\.checkpoint.*teacher\.pt' not found"):
        load_suite(write_suite(text))


def test_shared_data_npz_source_needs_a_data_root(write_suite):
    text = TINY_SUITE.replace("source: digits", "source: cifar10_src")
    with pytest.raises(KdssError, match=r"key 'source'.*--data-root"):
        load_suite(write_suite(text))


def test_validate_without_files_checks_names_only(write_suite):
    text = TINY_SUITE.replace("source: digits", "source: cifar100")
    suite = load_suite(write_suite(text), check_files=False)
    assert suite.source == "cifar100"


def test_declared_low_shot_variant_loads(write_suite):
    text = TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [digits_10shot, textures3]") + (
        "datasets:\n  digits_10shot: {format: bundled, name: digits, train_per_class: 10, subset_seed: 2}\n")
    suite = load_suite(write_suite(text))
    assert suite.datasets["digits_10shot"] == {"format": "bundled", "name": "digits", "train_per_class": 10,
                                               "subset_seed": 2}


def test_declared_train_per_class_zero_names_file_line_and_key(write_suite):
    text = TINY_SUITE + "datasets:\n  digits_10shot: {format: bundled, name: digits, train_per_class: 0}\n"
    path = write_suite(text)
    line = text.splitlines().index("datasets:") + 2
    with pytest.raises(KdssError) as caught:
        load_suite(path)
    assert str(caught.value) == (
        f"{path}:{line}: key 'datasets.digits_10shot.train_per_class': expected a positive integer, got 0")


BAD_DECLARED = [
    ("{format: bundled, name: digits, train_per_class: -3}", "digits_10shot.train_per_class",
     "expected a positive integer, got -3"),
    ("{format: bundled, name: digits, train_per_class: ten}", "digits_10shot.train_per_class",
     "expected a positive integer, got str 'ten'"),
    ("{format: bundled, name: digits, train_per_class: 2.5}", "digits_10shot.train_per_class",
     "expected a positive integer, got float 2.5"),
    ("{format: bundled, name: digits, train_per_class: 10, subset_seed: -1}", "digits_10shot.subset_seed",
     "expected an integer >= 0, got -1"),
    ("{format: bundled, name: digits, subset_seed: 1}", "digits_10shot.subset_seed",
     "applies only with train_per_class"),
    ("{format: bundled, name: digits, shots: 10}", "digits_10shot.shots",
     "unknown key; valid keys here: description, format, name, subset_seed, train_per_class"),
    ("{format: npz, path: x.npz, name: digits}", "digits_10shot.name",
     "unknown key; valid keys here: description, format, path, subset_seed, train_per_class"),
]


@pytest.mark.parametrize("entry,key,message", BAD_DECLARED)
def test_bad_declared_dataset_names_file_line_and_key(write_suite, entry, key, message):
    path = write_suite(TINY_SUITE + f"datasets:\n  digits_10shot: {entry}\n")
    with pytest.raises(KdssError) as caught:
        load_suite(path, check_files=False)
    text = str(caught.value)
    assert "\n" not in text
    assert f"{path}:" in text and f"key 'datasets.{key}'" in text and message in text


def test_validating_a_suite_imports_no_torch():
    """`kdss-bench validate` must stay instant: checking names and files reads headers only."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; from kdss_bench.config import load_suite; "
            "load_suite('suites/quickstart.yaml'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_built_in_datasets_name_their_files_and_one_prepare_command(write_suite, tmp_path):
    text = TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [tinyimagenet, lfw_faces, cars]")
    with pytest.raises(KdssError) as caught:
        load_suite(write_suite(text), data_root=tmp_path)
    message = str(caught.value)
    assert "\n" not in message and ":10: key 'targets.0': dataset 'tinyimagenet' not found under " in message
    assert "(expected tiny-imagenet-200/wnids.txt, tiny-imagenet-200/words.txt" in message
    assert "from tiny-imagenet-200.zip); 1 more of this suite's datasets are missing too (cars)" in message
    assert message.endswith(f"run kdss-bench data prepare tinyimagenet cars --root {tmp_path}")  # neither downloads


# --- a bad invocation: one line, exit 2, nothing written, never a traceback or a hang --------------

def one_line_error(path, **kwargs) -> str:
    with pytest.raises(KdssError) as caught:
        load_suite(path, **kwargs)
    message = str(caught.value)
    assert message.isprintable() and str(path) in message, message
    return message


def test_a_file_that_is_not_utf8_is_one_line(write_suite):
    path = write_suite()
    path.write_bytes(TINY_SUITE.replace("name: tiny", "name: caf\xe9").encode("latin-1"))
    assert one_line_error(path) == f"{path}:1: not UTF-8 text (byte 0xe9 at that line); save the file as UTF-8"


@pytest.mark.parametrize("extra,fragment", [
    ("description: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 32 levels deep"),
    ("distill_seed: &R [0, *R]\n", "refers to the list or mapping that contains it"),
])
def test_deep_nesting_and_self_referencing_aliases_are_one_line(write_suite, extra, fragment):
    assert fragment in one_line_error(write_suite(TINY_SUITE + extra))


def test_an_alias_bomb_is_refused_at_once(write_suite):
    names = "abcdefgh"  # eight levels of ten aliases each: 10^8 values once expanded
    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{name}: &{name} [{','.join([f'*{names[i]}'] * 10)}]\n" for i, name in enumerate(names[1:]))
    path = write_suite(bomb + "seeds: *h\n")
    assert len(path.read_bytes()) < 400
    started = time.perf_counter()
    assert "more than 10,000 values" in one_line_error(path)
    assert time.perf_counter() - started < 2.0


def test_a_key_with_a_newline_gives_one_line(write_suite):
    path = write_suite(TINY_SUITE.replace("  no_pretrain: {}", '  "no_pre\\ntrain": {}'))
    assert "key 'methods.no_pre\\ntrain': unknown method 'no_pre\\ntrain'" in one_line_error(path)


def test_a_key_given_twice_names_both_lines(write_suite):
    path = write_suite(TINY_SUITE + "targets: [lfw_faces]\n")
    assert one_line_error(path) == f"{path}:14: key 'targets': given twice (lines 10 and 14); keep one"
    path = write_suite(TINY_SUITE + "datasets:\n  mine: {format: bundled, name: digits}\n"
                                    "  mine: {format: bundled, name: lfw_faces}\n")
    assert "key 'datasets.mine': given twice (lines 15 and 16)" in one_line_error(path)


def test_a_declared_dataset_that_shadows_a_built_in_is_one_warning(write_suite):
    path = write_suite(TINY_SUITE + "datasets:\n  textures3: {format: bundled, name: digits}\n")
    suite = load_suite(path)
    assert suite.warnings == (
        f"{path}:15: key 'datasets.textures3' replaces the built-in dataset 'textures3' ("
        "brick / grass / gravel patches from scikit-image (offline): 3 classes, 96 / 96, 64x64) in this suite; "
        "rename it to keep both",)
    assert load_suite(write_suite()).warnings == ()


@pytest.mark.parametrize("text,key,fragment", [
    (TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [faces/v2]")
     + "datasets:\n  faces/v2: {format: bundled, name: lfw_faces}\n", "datasets.faces/v2", "must be letters"),
    (TINY_SUITE.replace("name: tiny", 'name: "tiny\\n"'), "name", "'tiny\\n' must be letters"),
    (TINY_SUITE.replace("name: tiny", "name: " + "t" * 201), "name", "has 201 characters; at most 200"),
    (TINY_SUITE + "datasets:\n  " + "d" * 201 + ": {format: bundled, name: digits}\n", "datasets.ddd",
     "has 201 characters"),
    (TINY_SUITE.replace("lr: 0.01", "lr: .nan"), "methods.krr_st.lr", "expected a finite number, got nan"),
    (TINY_SUITE.replace("lr: 0.01", "lr: -.inf"), "methods.krr_st.lr", "expected a finite number, got -inf"),
    (TINY_SUITE.replace("finetune: {iterations: 4", "finetune: {lr: .inf, iterations: 4"), "finetune.lr",
     "finite"),
    (TINY_SUITE.replace("budget: 12", "budget: 1000000000000"), "budget", "at most 10,000,000"),
    (TINY_SUITE.replace("budget: 12", "budget: 1001"), "budget", "exceeds the 1000 training images of 'digits'"),
    (TINY_SUITE.replace("seeds: [0]", "seeds: [99999999999]"), "seeds.0", "expected an integer <= 2,147,483,647"),
    (TINY_SUITE.replace("resolution: 16", "resolution: 100000"), "resolution", "at most 1024 pixels"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  no_pretrain: {}\n  random: {}").replace("budget: 12", "budget: 9"),
     "budget", "budget 9 is smaller than the 10 source classes"),
    (TINY_SUITE.replace("methods:\n  krr_st:", "methods:\n  mtt: {max_start_epoch: 20, train_epochs: 10}\n  krr_st:")
     .replace("budget: 12", "budget: 20"), "methods.mtt.train_epochs", "exceeds train_epochs 10"),
    (TINY_SUITE.replace("checkpoint_every: 0}", "checkpoint_every: 0, mode: fast, real_augment: normalize_only}"),
     "methods.krr_st.mode", "needs real_augment: crop_flip"),
    (TINY_SUITE.replace("checkpoint_every: 0}", "checkpoint_every: 0, teacher_views: 0}"),
     "methods.krr_st.teacher_views", "must be at least 1, got 0"),
    (TINY_SUITE.replace("online_iterations: 3", "online_iterations: 1"), "methods.krr_st.online_iterations",
     "must be at least 2"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  dsa: {}").replace("budget: 12", "budget: 70"),
     "methods.dsa.outer_loop", "no outer/inner loop lengths for 7 images per class"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  kip: {target_batch: 5000}").replace("budget: 12", "budget: 20"),
     "methods.kip.target_batch", "needs 500 images of each class"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  frepo: {pool_size: 0}").replace("budget: 12", "budget: 20"),
     "methods.frepo.pool_size", "must be at least 1, got 0"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  import: {}"), "methods.import.path", "needs settings path"),
    ("\n".join(line for line in TINY_SUITE.splitlines() if not line.startswith("  "))
     .replace("methods:", "methods: [krr_st, no_pretrain, krr_st]"), "methods", "methods repeat"),
    (TINY_SUITE.replace("finetune: {iterations: 4", "finetune: {iterations_per_target: {lfw_face: 3}, iterations: 4"),
     "finetune.iterations_per_target.lfw_face", "unknown dataset 'lfw_face'"),
    (TINY_SUITE + "description: [a, b]\n", "description", "expected a string, got list"),
    (TINY_SUITE + "pretrain_classifier: {dsa_strategy: color_blur}\n", "pretrain_classifier.dsa_strategy",
     "unknown op family 'blur'"),
    (TINY_SUITE + "pretrain_classifier: {milestone_fraction: 1.5}\n", "pretrain_classifier.milestone_fraction",
     "expected a fraction in [0, 1], got 1.5"),
    (TINY_SUITE + "datasets:\n  mine: {format: torchvision, name: mnist}\n", "datasets.mine",
     "torchvision name 'mnist' is not one of"),
    (TINY_SUITE.replace("  no_pretrain: {}", "  mtt: {dsa_strategy: color_blur}").replace("budget: 12", "budget: 20"),
     "methods.mtt.dsa_strategy", "unknown op family 'blur'"),
    (TINY_SUITE + "protocols: [krr_st, mkdtt]\n", "protocols.1", "unknown protocol 'mkdtt'; choose from krr_st, mkdt"),
    (TINY_SUITE + "protocols: [mkdt, mkdt]\n", "protocols", "protocols repeat"),
    (TINY_SUITE + "protocols: [mkdt]\neval: kd\n", "protocols", "remove 'protocols' or set eval"),
    (TINY_SUITE + "label_fractions: [0.05, 0]\n", "label_fractions.1", "expected a fraction of the training labels"),
    (TINY_SUITE + "label_fraction: 1.5\n", "label_fraction", "in (0, 1], got 1.5"),
    (TINY_SUITE + "label_fraction: 0.5\nlabel_fractions: [0.5]\n", "label_fractions", "give either"),
    (TINY_SUITE + "label_fraction: 0.5\neval: kd\n", "label_fraction", "'eval: kd' uses no target labels"),
    (TINY_SUITE + "label_sampling: balanced\n", "label_sampling", "stratified"),
    (TINY_SUITE + "mkdt_protocol: {probe_steps: 0}\n", "mkdt_protocol.probe_steps", "positive integer"),
    (TINY_SUITE + "mkdt_protocol: {learned: true}\n", "mkdt_protocol", "learned"),
    (TINY_SUITE + "pretrain_label_regression: {batch_size_per_model: {vgg11: 256}}\n",
     "pretrain_label_regression.batch_size_per_model.vgg11", "not a model this suite pre-trains"),
    (TINY_SUITE + "pretrain_label_regression: {batch_size_per_model: {convnet_8_16_bn: 0}}\n",
     "pretrain_label_regression.batch_size_per_model.convnet_8_16_bn", "expected a positive integer, got 0"),
])
def test_validate_refuses_what_run_would_refuse(write_suite, text, key, fragment):
    message = one_line_error(write_suite(text), check_files=False)
    assert f"key '{key}" in message and fragment in message, message


def test_every_declared_dataset_file_is_checked_even_unused(write_suite, tmp_path):
    path = write_suite(TINY_SUITE + f"datasets:\n  spare: {{format: npz, path: {tmp_path / 'spare.npz'}}}\n")
    assert "key 'datasets.spare': dataset 'spare': file" in one_line_error(path)
    assert load_suite(path, check_files=False).datasets["spare"]["format"] == "npz"


def test_budget_is_checked_against_a_declared_npz_source_read_from_its_headers(write_suite, tmp_path):
    import numpy as np

    np.savez(tmp_path / "small.npz", x_train=np.zeros((6, 8, 8, 3), np.uint8), y_train=np.arange(6) % 3,
             x_test=np.zeros((3, 8, 8, 3), np.uint8), y_test=np.arange(3), classes=np.array(["a", "b", "c"]))
    text = TINY_SUITE.replace("source: digits", "source: small") + (
        f"datasets:\n  small: {{format: npz, path: {tmp_path / 'small.npz'}}}\n")
    assert "budget 12 exceeds the 6 training images of 'small'" in one_line_error(write_suite(text))
    assert load_suite(write_suite(text), check_files=False).budget == 12, "no file read: the count is unknown"
    suite = load_suite(write_suite(text.replace("budget: 12", "budget: 6").replace("  no_pretrain: {}",
                                                                                      "  random: {}")))
    assert suite.budget == 6
    assert "smaller than the 3 source classes" in one_line_error(
        write_suite(text.replace("budget: 12", "budget: 2").replace("  no_pretrain: {}", "  random: {}")))


def test_a_low_shot_source_bounds_the_budget(write_suite):
    text = TINY_SUITE.replace("source: digits", "source: digits_5shot") + (
        "datasets:\n  digits_5shot: {format: bundled, name: digits, train_per_class: 5}\n")
    assert "budget 51 exceeds the 50 training images" in one_line_error(
        write_suite(text.replace("budget: 12", "budget: 51")))
    assert load_suite(write_suite(text.replace("budget: 12", "budget: 50"))).budget == 50


def test_a_dsa_strategy_of_none_is_accepted_as_the_training_code_accepts_it(write_suite):
    suite = load_suite(write_suite(TINY_SUITE + "pretrain_classifier: {dsa_strategy: none}\n"))
    assert suite.pretrain_classifier["dsa_strategy"] == "none"


def test_recipe_defaults_are_the_training_code_recipes():
    import dataclasses

    from kdss_bench.config import (
        CLASSIFIER_PRETRAIN_DEFAULTS,
        LABEL_REGRESSION_PRETRAIN_DEFAULTS,
        LINEAR_PROBE_DEFAULTS,
    )
    from kdss_bench.train.finetune import FinetuneRecipe
    from kdss_bench.train.linear_probe import LinearProbeRecipe
    from kdss_bench.train.pretrain import PretrainRecipe
    from kdss_bench.train.pretrain_classifier import ClassifierPretrainRecipe
    from kdss_bench.train.pretrain_label_regression import LabelRegressionPretrainRecipe

    assert PRETRAIN_DEFAULTS == dataclasses.asdict(PretrainRecipe())
    assert CLASSIFIER_PRETRAIN_DEFAULTS == dataclasses.asdict(ClassifierPretrainRecipe())
    assert LABEL_REGRESSION_PRETRAIN_DEFAULTS == dataclasses.asdict(LabelRegressionPretrainRecipe())
    assert FINETUNE_DEFAULTS == dataclasses.asdict(FinetuneRecipe())
    assert LINEAR_PROBE_DEFAULTS == dataclasses.asdict(LinearProbeRecipe())
    assert FinetuneRecipe.__module__ == "kdss_bench.train.recipes", "one definition, imported by the trainer"


def test_shipped_suites_that_use_the_shared_data_validate_with_their_files(data_root):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    for name in ("cifar10-transfer.yaml", "ablations/krr-st-fast-mode.yaml"):
        suite = load_suite(repo / "suites" / name, data_root=data_root)
        assert suite.warnings == () and suite.source == "cifar10_src"


def test_an_unexpandable_data_root_option_is_one_line(write_suite):
    with pytest.raises(KdssError, match=r"^--data-root ~no_such_user_kdss/x: cannot be expanded"):
        load_suite(write_suite(), data_root="~no_such_user_kdss/x")




@pytest.mark.parametrize("old, new, fragment", [
    ("budget: 12\n", "budget: 12\nbudgets: [10, 20]\n", "give either 'budget: N'"),
    ("budget: 12\n", "budgets: [10, 10]\n", "budgets repeat"),
    ("budget: 12\n", "budgets: []\n", "non-empty list"),
    ("budget: 12\n", "budgets: [10, -1]\n", "key 'budgets.1'"),
    ("model: convnet_8_16_bn\n", "model: convnet_8_16_bn\neval_models: [vgg11, vgg13]\n", "key 'eval_models.1'"),
    ("model: convnet_8_16_bn\n", "model: convnet_8_16_bn\neval_models: [vgg11, vgg11]\n", "models repeat"),
    ("  no_pretrain: {}\n", "  no_pretrain: {}\n  gaussian: {}\n", "gaussian is the baseline of eval: kd"),
    ("seeds: [0]\n", "seeds: [0]\neval: kd\n", "no_pretrain has none; use the gaussian baseline"),
])
def test_grid_axes_and_kd_evaluation_are_checked_when_the_suite_loads(write_suite, old, new, fragment):
    with pytest.raises(ConfigError) as error:
        load_suite(write_suite(TINY_SUITE.replace(old, new)))
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_a_method_check_names_the_budget_it_fails_for(write_suite):
    text = TINY_SUITE.replace("budget: 12\n", "budgets: [12, 5000]\n")  # digits has 1,000 training images
    with pytest.raises(ConfigError, match=r"key 'budgets.1': budget 5000 exceeds the 1000 training images"):
        load_suite(write_suite(text))


def test_kd_sections_read_with_their_defaults(write_suite, tmp_path):
    text = TINY_SUITE.replace("  no_pretrain: {}\n", "  gaussian: {}\n").replace(
        "seeds: [0]\n", "seeds: [0]\neval: kd\nkd: {epochs: 3}\nkd_teacher: {epochs: 2, arch: convnet_8_16_bn}\n")
    suite = load_suite(write_suite(text))
    assert suite.eval == "kd" and suite.kd["epochs"] == 3 and suite.kd["teacher_mode"] == "train"
    assert suite.kd_teacher["epochs"] == 2 and suite.kd_teacher["checkpoint"] is None
    missing = text.replace("kd_teacher: {epochs: 2,", "kd_teacher: {checkpoint: nope.pt,")
    with pytest.raises(ConfigError, match="key 'kd_teacher.checkpoint': file .*nope.pt' not found"):
        load_suite(write_suite(missing, name="missing.yaml"))
    with pytest.raises(ConfigError, match="key 'kd.temperature'"):
        load_suite(write_suite(text.replace("kd: {epochs: 3}", "kd: {temperature: 0.0}"), name="t.yaml"))


def test_a_per_model_label_regression_batch_reaches_only_that_models_pretraining_and_its_key(write_suite):
    from kdss_bench.runner.pretrain_choice import recipe_for
    from kdss_bench.runner.stage_identity import pretrain_parts

    text = TINY_SUITE + "eval_models: [convnet_8_16_bn, vgg11]\n"
    plain = load_suite(write_suite(text, name="plain.yaml"), check_files=False)
    tuned = load_suite(write_suite(text + "pretrain_label_regression: {batch_size_per_model: {vgg11: 256}}\n",
                                   name="tuned.yaml"), check_files=False)
    assert recipe_for(tuned, "soft", "vgg11")[1]["batch_size"] == 256
    assert recipe_for(tuned, "soft", "convnet_8_16_bn")[1]["batch_size"] == 500
    assert recipe_for(tuned, "hard", "vgg11") == recipe_for(plain, "hard", "vgg11")
    assert "batch_size_per_model" not in tuned.pretrain_label_regression
    for kind in ("soft", "auto"):
        assert pretrain_parts(tuned, "d", kind, 0, "vgg11") != pretrain_parts(plain, "d", kind, 0, "vgg11")
        assert pretrain_parts(tuned, "d", kind, 0, "convnet_8_16_bn") == pretrain_parts(plain, "d", kind, 0,
                                                                                        "convnet_8_16_bn")
