"""A modal form: labelled inputs, validation messages on the fields, submit or cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from engine.errors import SadeemError, ValidationError


@dataclass
class FormField:
    name: str
    label: str
    value: str = ""
    password: bool = False
    multiline: bool = False
    placeholder: str = ""


class FormScreen(ModalScreen[Any]):
    """`submit(values)` runs in a worker; a ValidationError lands under its field."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Save")]

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        submit: Callable[[dict[str, str]], Any],
        intro: str = "",
    ) -> None:
        super().__init__()
        self._title = title
        self._fields = fields
        self._submit = submit
        self._intro = intro

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(f"[b]{self._title}[/b]", classes="form-title")
            if self._intro:
                yield Static(self._intro, id="form-intro")
            for f in self._fields:
                yield Label(f.label)
                if f.multiline:
                    yield TextArea.code_editor(
                        f.value, language="sql", id=f"f-{f.name}", classes="form-sql"
                    )
                else:
                    yield Input(
                        f.value, password=f.password, placeholder=f.placeholder, id=f"f-{f.name}"
                    )
                yield Static("", id=f"e-{f.name}", classes="field-error")
            yield Static("", id="e-form", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def values(self) -> dict[str, str]:
        out = {}
        for f in self._fields:
            widget = self.query_one(f"#f-{f.name}")
            out[f.name] = widget.text if isinstance(widget, TextArea) else widget.value
        return out

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_submit()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        for f in self._fields:
            self.query_one(f"#e-{f.name}", Static).update("")
        self.query_one("#e-form", Static).update("")
        values = self.values()
        self.run_worker(lambda: self._save(values), thread=True, exclusive=True)

    def _save(self, values: dict[str, str]) -> None:
        try:
            result = self._submit(values)
        except ValidationError as exc:
            self.app.call_from_thread(self._show_error, exc.field, str(exc))
            return
        except SadeemError as exc:
            self.app.call_from_thread(self._show_error, None, str(exc))
            return
        self.app.call_from_thread(self.dismiss, result if result is not None else True)

    def _show_error(self, field: str | None, message: str) -> None:
        names = {f.name for f in self._fields}
        key = (field or "").removeprefix("config.")
        target = f"#e-{key}" if key in names else "#e-form"
        self.query_one(target, Static).update(f"[red]{message}[/red]")
