"""Audit: who did what, when, from where; `/` filters, `u`/`a` filter by user or action."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.panes.base import ListPane
from tui.widgets.form import FormField, FormScreen


class AuditPane(ListPane):
    TITLE = "Audit"
    KEY = "audit"
    COLUMNS = ("at", "user", "from", "action", "target", "workspace", "details")
    BINDINGS = [Binding("F", "filters", "Filters (user, action, workspace)")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters: dict[str, str] = {}

    def load(self) -> Any:
        f = self.filters
        return self.ctx.s.audit.list(
            self.ctx.actor,
            user=f.get("user") or None,
            action=f.get("action") or None,
            workspace=f.get("workspace") or None,
            limit=500,
        )

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        return [
            (
                str(e.id),
                [
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.username,
                    e.source,
                    e.action,
                    e.target,
                    e.workspace,
                    " ".join(f"{k}={v}" for k, v in e.details.items())[:80],
                ],
            )
            for e in data
        ]

    def action_filters(self) -> None:
        def submit(values: dict[str, str]) -> Any:
            return values

        def apply(values: Any) -> None:
            if values:
                self.filters = values
                self.reload()

        self.app.push_screen(
            FormScreen(
                "Filter the audit trail",
                [
                    FormField("user", "User", self.filters.get("user", "")),
                    FormField(
                        "action",
                        "Action (or a family like workspace.)",
                        self.filters.get("action", ""),
                    ),
                    FormField("workspace", "Workspace", self.filters.get("workspace", "")),
                ],
                submit,
            ),
            apply,
        )
