"""Suite validation: good suites load with the paper's defaults; bad ones fail in one clear line."""

from __future__ import annotations

import pytest

from kdss_bench.config import FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS, load_suite
from kdss_bench.errors import KdssError
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
