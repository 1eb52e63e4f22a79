"""`?`: every binding of the pane in front of you, and the global ones."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._rows = rows

    def compose(self) -> ComposeResult:
        lines = [f"[b]{self._title}[/b]", ""]
        lines += [f"  [b]{key:<14}[/b] {desc}" for key, desc in self._rows]
        lines += ["", "[dim]Esc closes[/dim]"]
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
