"""The launch dialog: pick a suite YAML from ``suites/`` or type a path; returns the path or None."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from kdss_bench.tui.guarded import guarded

SUITE_SUFFIXES = (".yaml", ".yml")


def find_suites(folder: Path) -> list[Path]:
    """Suite files under ``folder`` (recursively), sorted; empty when the folder is missing."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.suffix in SUITE_SUFFIXES and path.is_file())


def check_suite_path(text: str) -> tuple[Path | None, str]:
    """(path, "") for an existing YAML file, else (None, a one-line reason)."""
    text = text.strip()
    if not text:
        return None, "type the path of a suite YAML file"
    path = Path(text).expanduser()
    if not path.is_file():
        return None, f"{path}: no such file"
    if path.suffix not in SUITE_SUFFIXES:
        return None, f"{path}: not a .yaml file"
    return path, ""


class LaunchScreen(ModalScreen[Path | None]):
    """Modal: enter on a listed suite or on a typed path launches it; escape closes."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, suites_dir: Path) -> None:
        super().__init__()
        self.suites_dir = Path(suites_dir)
        self.suites = find_suites(self.suites_dir)

    def compose(self) -> ComposeResult:
        with Vertical(id="launch-dialog"):
            yield Label("Launch a suite", id="launch-title")
            if self.suites:
                shown = [path.relative_to(self.suites_dir.parent) for path in self.suites]
                yield OptionList(*(Option(str(path), id=str(index)) for index, path in enumerate(shown)),
                                 id="launch-suites")
            else:
                yield Static(f"no suite files under {self.suites_dir}/", id="launch-none")
            yield Input(placeholder="or type a path: path/to/suite.yaml", id="launch-path")
            yield Static("", id="launch-error")
            yield Label("enter: launch · tab: switch · esc: close", id="launch-hint")

    @guarded
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.suites[int(event.option.id)])

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path, problem = check_suite_path(event.value)
        if path is None:
            self.query_one("#launch-error", Static).update(problem)
            return
        self.dismiss(path)

    def action_close(self) -> None:
        self.dismiss(None)
