"""The test tree mirrors the package: ``kdss_bench/a/b.py`` is tested by ``tests/a/test_b.py`` (as lightly's
tests are laid out), so a module's tests are where a reader looks for them and a new module without tests
shows here. ``__init__.py`` files are left out (they re-export; the logic is in the modules)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "kdss_bench"

WITHOUT_MIRROR: dict[str, str] = {
    # "kdss_bench/a/b.py": "why it has no tests/a/test_b.py (and where its behaviour is tested instead)",
}
"""Modules allowed to have no mirrored test file, each with its reason. Keep it empty or nearly so."""


def mirror_of(module: Path) -> Path:
    relative = module.relative_to(PACKAGE)
    return REPO / "tests" / relative.parent / f"test_{relative.name}"


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"
                  and "__pycache__" not in path.parts)


def has_tests(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
               for node in tree.body)


def name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_every_module_has_its_mirrored_test_file():
    assert len(modules()) > 100, "the package was not found where this test looks"
    missing = [f"{name(module)} -> {name(mirror_of(module))}" for module in modules()
               if name(module) not in WITHOUT_MIRROR and not mirror_of(module).is_file()]
    assert not missing, "modules without their mirrored test file:\n  " + "\n  ".join(missing)


def test_every_mirrored_file_holds_tests():
    empty = [name(mirror_of(module)) for module in modules()
             if mirror_of(module).is_file() and not has_tests(mirror_of(module))]
    assert not empty, "mirrored test files with no test function:\n  " + "\n  ".join(empty)


def test_each_exception_is_still_needed_and_says_why():
    for module, reason in WITHOUT_MIRROR.items():
        path = REPO / module
        assert path.is_file(), f"{module} is listed in WITHOUT_MIRROR but no longer exists"
        assert not mirror_of(path).is_file(), f"{module} has its mirrored test now: take it out of WITHOUT_MIRROR"
        assert len(reason.split()) >= 5, f"{module}: say why it has no mirrored test file"


def test_the_mirror_of_a_module():
    assert mirror_of(PACKAGE / "cli.py") == REPO / "tests" / "test_cli.py"
    assert mirror_of(PACKAGE / "runner" / "stages" / "evaluate_stage.py") == (
        REPO / "tests" / "runner" / "stages" / "test_evaluate_stage.py")
