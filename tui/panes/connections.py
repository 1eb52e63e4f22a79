"""Connections: list (secrets masked), create with a typed form, test with the result inline."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from engine import connection_types as ct
from tui.panes.base import ListPane
from tui.widgets.form import FormField, FormScreen


class ConnectionsPane(ListPane):
    TITLE = "Connections"
    KEY = "connections"
    COLUMNS = ("name", "type", "workspace", "config", "test")
    BINDINGS = [
        Binding("t", "test", "Test"),
        Binding("n", "create", "New"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results: dict[str, str] = {}

    def load(self) -> Any:
        return self.ctx.s.connections.list(self.ctx.actor)

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        return [
            (
                c.name,
                [
                    c.name,
                    c.type,
                    c.workspace,
                    " ".join(f"{k}={v}" for k, v in c.config.items())[:80],
                    self.results.get(c.name),
                ],
            )
            for c in data
        ]

    def action_test(self) -> None:
        name = self.selected_key()
        if not name:
            return
        self.results[name] = "testing…"
        self.reload()

        def done(h: Any) -> None:
            self.results[name] = (
                f"[green]ok[/] {h.version or ''} {h.latency_ms or 0:.0f} ms"
                if h.ok
                else f"[red]{h.error_kind}[/] {h.detail[:60]}"
            )
            self.reload()

        self.in_thread(lambda: self.ctx.s.health.test(self.ctx.actor, name), done)

    def action_create(self) -> None:
        if not self.may_change():
            return

        def choose(values: dict[str, str]) -> Any:
            ct.fields_of(values["type"].strip())  # a clear error for an unknown type
            return values

        self.app.push_screen(
            FormScreen(
                "New connection",
                [
                    FormField("name", "Name"),
                    FormField("type", f"Type ({', '.join(sorted(ct.TYPES))})"),
                    FormField("workspace", "Owning workspace (empty: platform)"),
                ],
                choose,
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
        svc, actor = self.ctx.s, self.ctx.actor

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
            FormScreen(f"{conn_type} connection", fields, submit),
            lambda msg: msg and (self.app.notify(str(msg)), self.reload()),
        )

    def action_delete(self) -> None:
        name = self.selected_key()
        if name and self.may_change():
            self.in_thread(
                lambda: self.ctx.s.connections.delete(self.ctx.actor, name),
                lambda _r: self.reload(),
                success=f"{name} deleted",
            )
