"""Shared pytest options and fixtures (keep small: every package's tests share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--data-root",
        default=str(DEFAULT_DATA_ROOT),
        help="folder holding the shared real datasets (*.npz); tests marked 'data' skip when it is absent",
    )


@pytest.fixture(scope="session")
def data_root(request: pytest.FixtureRequest) -> Path:
    """The shared real-data folder; skips the test cleanly where it is absent."""
    root = Path(request.config.getoption("--data-root")).expanduser().resolve()
    if not root.is_dir():
        pytest.skip(f"data root {root} not found; pass --data-root pointing at the shared data folder")
    return root


TINY_SUITE = """\
name: tiny
source: digits
budget: 12
resolution: 16
model: convnet_8_16_bn
teacher: {train: barlow_twins, arch: convnet_8_16_bn, epochs: 1, batch_size: 128, projector_dims: [32, 32]}
methods:
  krr_st: {outer_steps: 4, lr: 0.01, real_batch: 32, pool_size: 2, online_iterations: 3, checkpoint_every: 0}
  no_pretrain: {}
targets: [lfw_faces, textures3]
seeds: [0]
pretrain: {epochs: 2, batch_size: 8}
finetune: {iterations: 4, batch_size: 16}
"""


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write a suite YAML (the tiny offline suite unless ``text`` is given) and return its path."""

    def write(text: str = TINY_SUITE, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def gate_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``suites/ci/gate.yaml`` run once per session on the CPU (about 15 s on 2 cores): a finished results
    root with every kind of file a report reads (events, previews, distilled sets, stage records)."""
    from kdss_bench.config import load_suite
    from kdss_bench.runner.suite_runner import run_suite

    root = tmp_path_factory.mktemp("gate") / "results"
    suite = Path(__file__).resolve().parent.parent / "suites" / "ci" / "gate.yaml"
    outcome = run_suite(load_suite(suite), results_root=root, device="cpu")
    assert not outcome.failed, outcome.failed
    return root
