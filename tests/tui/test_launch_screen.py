"""kdss_bench.tui.launch_screen: the launch dialog lists the suite files under suites/ or takes a typed path,
and refuses what is not a YAML file."""

from __future__ import annotations

from textual.widgets import Static

from kdss_bench.tui.app import DashboardApp
from kdss_bench.tui.launch_screen import LaunchScreen, check_suite_path, find_suites

from .conftest import run_app, wait_for


def suites_folder(tmp_path):
    suites = tmp_path / "suites"
    (suites / "paper").mkdir(parents=True)
    for name in ("quick.yaml", "paper/big.yaml", "paper/old.yml", "notes.txt"):
        (suites / name).write_text("name: x\n")
    (suites / "folder.yaml").mkdir()
    return suites


def test_find_suites_lists_yaml_files_under_the_folder_sorted(tmp_path):
    suites = suites_folder(tmp_path)
    assert find_suites(suites) == [suites / "paper" / "big.yaml", suites / "paper" / "old.yml", suites / "quick.yaml"]
    assert find_suites(tmp_path / "absent") == []


def test_a_typed_path_must_be_an_existing_yaml_file(tmp_path):
    suites = suites_folder(tmp_path)
    assert check_suite_path(f"  {suites / 'quick.yaml'}\n") == (suites / "quick.yaml", "")
    assert check_suite_path("   ") == (None, "type the path of a suite YAML file")
    assert check_suite_path(str(tmp_path / "missing.yaml")) == (None, f"{tmp_path / 'missing.yaml'}: no such file")
    assert check_suite_path(str(suites / "notes.txt")) == (None, f"{suites / 'notes.txt'}: not a .yaml file")
    assert check_suite_path(str(suites / "folder.yaml"))[0] is None


def test_the_dialog_refuses_a_missing_path_then_launches_a_listed_suite(tmp_path):
    suites = suites_folder(tmp_path)
    launched = []

    async def scenario(app, pilot):
        app.launch_suite = lambda path, cells=(): launched.append(path)  # the dialog's result, not a run
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        assert app.screen.suites == find_suites(suites)
        await pilot.click("#launch-path")
        await pilot.press(*"missing.yaml", "enter")
        await pilot.pause()
        assert "no such file" in str(app.screen.query_one("#launch-error", Static).render())
        assert isinstance(app.screen, LaunchScreen)
        app.screen.query_one("#launch-suites").focus()
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        assert launched == [suites / "quick.yaml"]

    run_app(DashboardApp(tmp_path / "results", suites_dir=suites), scenario)


def test_a_typed_path_launches_and_escape_launches_nothing(tmp_path):
    suite = tmp_path / "mine.yaml"
    suite.write_text("name: x\n")
    launched = []

    async def scenario(app, pilot):
        app.launch_suite = lambda path, cells=(): launched.append(path)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        assert "no suite files under" in str(app.screen.query_one("#launch-none", Static).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        assert launched == []
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        app.screen.query_one("#launch-path").value = str(suite)
        await pilot.click("#launch-path")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        assert launched == [suite]

    run_app(DashboardApp(tmp_path / "results", suites_dir=tmp_path / "no-suites"), scenario)
