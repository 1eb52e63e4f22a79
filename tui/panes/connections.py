"""Connections: list (secrets masked), create with a typed form, test with the result inline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding

from engine import connection_types as ct
from engine.text import plain
from tui.panes.base import Change, ListPane
from tui.session import Session, abandonable
from tui.widgets.form import FormField, FormScreen, confirm

if TYPE_CHECKING:
    from engine.views import ConnectionView


class ConnectionsPane(ListPane["ConnectionView"]):
    TITLE = "Connections"
    KEY = "connections"
    COLUMNS = ("name", "type", "workspace", "config", "test")
    BINDINGS = [
        Binding("t", "test", "Test", id="connections.test"),
        Change("n", "create", "New", id="connections.create"),
        Change("d", "delete", "Delete", id="connections.delete"),
    ]
    COMPONENT_CLASSES = {"check--ok", "check--failed"}  # a test's outcome (app.tcss)

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.results: dict[str, str | Text] = {}

    def load(self) -> Sequence[ConnectionView]:
        return self.session.s.connections.list(self.session.actor)

    def row(self, c: ConnectionView) -> tuple[str, list[Any]]:
        return (
            c.name,
            [
                c.name,
                c.type,
                c.workspace,
                # Whole: a cut config hid its last fields (verify_tls among them).
                " ".join(f"{k}={v}" for k, v in c.config.items()),
                self.results.get(c.name),
            ],
        )

    def action_test(self) -> None:
        name = self.selected_key()
        if not name:
            return
        self.results[name] = "testing…"
        self.reload()

        def done(h: Any) -> None:
            ok = f" {h.version or ''} {h.latency_ms or 0:.0f} ms"
            detail = ok if h.ok else f" {h.detail[:60]}"
            outcome = "ok" if h.ok else "failed"
            style = self.get_component_rich_style(f"check--{outcome}", partial=True)
            status = Text("ok" if h.ok else plain(h.error_kind), style)
            self.results[name] = Text.assemble(status, plain(detail))
            self.reload()

        # A server that never answers holds the probe to its deadline; quitting does not wait.
        self.in_thread(
            lambda: abandonable(lambda: self.session.s.health.test(self.session.actor, name)), done
        )

    def action_create(self) -> None:
        def choose(values: dict[str, str]) -> Any:
            ct.fields_of(values["type"].strip())  # a clear error for an unknown type
            return values

        self.app.push_screen(
            FormScreen(
                "New connection",
                [
                    FormField("name", "Name"),
                    FormField("type", f"Type ({', '.join(ct.type_names())})"),
                    FormField("workspace", "Owning workspace (empty: platform)"),
                ],
                choose,
                verb="Next",
            ),
            self._config_form,
        )

    def _config_form(self, first: Any) -> None:
        if not first:
            return
        conn_type = first["type"].strip()
        fields = [
            FormField(
                f.name,
                f"{f.name}{' *' if f.required else ''}"
                f"{' (secret: stored as a reference)' if f.secret else ''}",
                "" if f.default is None else str(f.default),
                password=f.secret,
            )
            for f in ct.fields_of(conn_type)
        ]
        svc, actor = self.session.s, self.session.actor

        def submit(values: dict[str, str]) -> Any:
            config = {k: v for k, v in values.items() if v != ""}
            svc.connections.create(
                actor,
                first["name"].strip(),
                conn_type,
                config,
                workspace=first["workspace"].strip() or None,
            )
            return f"connection {first['name']} created"

        self.app.push_screen(
            FormScreen(f"{conn_type} connection", fields, submit, verb="Create"),
            self.answered(),
        )

    def action_delete(self) -> None:
        name = self.selected_key()
        if name:
            confirm(
                self.app,
                f"Delete connection {name}?",
                "Delete",
                lambda: self.session.s.connections.delete(self.session.actor, name),
                self.answered(f"{name} deleted"),
                intro="Jobs and workspaces that use it stop working until it is replaced.",
            )
