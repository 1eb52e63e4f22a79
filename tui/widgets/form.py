"""A modal form: labelled inputs, validation messages on the fields, submit or go back.

The one place that decides how every form and confirmation of the console behaves: the
first field has the focus when it opens (no key is lost), Tab moves between fields (also
out of a SQL field), the submit button and ctrl+s say the form's verb ("Create", "Delete",
"Cancel run"; never a generic "Save"), and an error lands under its field, which is then
focused and scrolled into view. A confirmation is a form with no fields (`confirm`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea
from textual.worker import get_current_worker

from engine.errors import ValidationError
from engine.text import plain
from tui.boundary import failure_text
from tui.markup import escape


def _literal(text: str) -> str:
    """A title, an intro or an error holds names and messages users chose: shown as typed."""
    return escape(plain(text))


@dataclass
class FormField:
    name: str
    label: str
    value: str = ""
    password: bool = False
    multiline: bool = False
    placeholder: str = ""


class FormScreen(ModalScreen[Any]):
    """`submit(values)` runs in a worker; a ValidationError lands under its field, any
    other failure under the form, and the form stays open with what was typed."""

    class Saved(Message):
        """submit() returned `result` (the form closes with it)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Refused(Message):
        """submit() raised: `message` goes under `field` (None: under the form)."""

        def __init__(self, field: str | None, message: str) -> None:
            super().__init__()
            self.field = field
            self.message = message

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        submit: Callable[[dict[str, str]], Any],
        *,
        verb: str,
        intro: str = "",
    ) -> None:
        super().__init__()
        self._title = title
        self._fields = fields
        self._submit = submit
        self._intro = intro
        self.verb = verb
        # Per screen: the footer and `?` say the verb too.
        self._bindings.bind("ctrl+s", "submit", verb)
        self._bindings.bind("escape", "cancel", "Back")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(f"[b]{_literal(self._title)}[/b]", classes="form-title")
            if self._intro:
                yield Static(_literal(self._intro), id="form-intro")
            for f in self._fields:
                yield Label(_literal(f.label))  # it may name a parameter or a job
                if f.multiline:
                    yield TextArea.code_editor(
                        plain(f.value),
                        language="sql",
                        id=f"f-{f.name}",
                        classes="form-sql",
                        tab_behavior="focus",  # Tab moves on, as in every other field
                    )
                else:
                    yield Input(
                        plain(f.value),
                        password=f.password,
                        placeholder=f.placeholder,
                        id=f"f-{f.name}",
                    )
                yield Static("", id=f"e-{f.name}", classes="field-error")
            yield Static("", id="e-form", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button(f"{self.verb} (ctrl+s)", variant="primary", id="save")
                yield Button("Back (esc)", id="cancel")

    def on_mount(self) -> None:
        # The scroll container is focusable and would take the first keys otherwise.
        first = f"#f-{self._fields[0].name}" if self._fields else "#save"
        self.query_one(first).focus()

    def values(self) -> dict[str, str]:
        out = {}
        for f in self._fields:
            widget = self.query_one(f"#f-{f.name}")
            out[f.name] = widget.text if isinstance(widget, TextArea) else self._input(f).value
        return out

    def _input(self, f: FormField) -> Input:
        return self.query_one(f"#f-{f.name}", Input)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_submit()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        for error in self.query(".field-error").results(Static):
            error.update("")
            error.remove_class("-refused")
        self._save(self.values())

    @work(thread=True, exclusive=True, group="submit")
    def _save(self, values: dict[str, str]) -> None:
        worker = get_current_worker()
        try:
            result = self._submit(values)
        except ValidationError as exc:
            answer: Message = self.Refused(exc.field, str(exc))
        except Exception as exc:  # the form is the boundary of its own work: it stays open
            answer = self.Refused(None, failure_text(exc))
        else:
            answer = self.Saved(result if result is not None else True)
        if not worker.is_cancelled:  # Esc meanwhile: the form is gone
            self.post_message(answer)

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.dismiss(message.result)

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self._show_error(message.field, message.message)

    def _show_error(self, field: str | None, message: str) -> None:
        names = {f.name for f in self._fields}
        key = (field or "").removeprefix("config.")
        target = f"#e-{key}" if key in names else "#e-form"
        error = self.query_one(target, Static)
        error.update(_literal(message))
        error.add_class("-refused")  # app.tcss colours it
        # A long form's bad field may be scrolled away: go to it, its message in view.
        focus = self.query_one(f"#f-{key}") if key in names else self.query_one("#save")
        focus.focus(scroll_visible=False)
        self.call_after_refresh(error.scroll_visible, animate=False)


def confirm(
    app: App[Any],
    title: str,
    verb: str,
    action: Callable[[], Any],
    done: Callable[[Any], None] | None = None,
    intro: str = "",
) -> None:
    """Ask before `action` (run in a worker on `verb`); `done(result)` once it succeeded.
    The one confirmation of the console: its button and ctrl+s say the verb, Esc goes back
    and changes nothing, Enter on the focused button confirms."""

    def finished(result: Any) -> None:
        if result is not None and done is not None:
            done(result)

    app.push_screen(
        FormScreen(title, [], lambda _values: action(), verb=verb, intro=intro), finished
    )
