"""`?`: every binding of the pane in front of you, and the global ones."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.markup import escape


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._rows = rows

    def compose(self) -> ComposeResult:
        lines = [f"[b]{self._title}[/b]", ""]
        # Escaped: `:runs [STATE] [job=NAME]` is text, not markup (it showed as `:runs  [24h]`).
        lines += [f"  [b]{escape(f'{key:<14}')}[/b] {escape(desc)}" for key, desc in self._rows]
        lines += ["", "[dim]Esc closes[/dim]"]
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
