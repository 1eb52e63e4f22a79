"""Audit: who did what, when, from where; `/` filters, `F` filters by user, action or
workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from tui.panes.base import ListPane
from tui.session import Session
from tui.widgets.form import FormField, FormScreen

if TYPE_CHECKING:
    from engine.views import AuditView


class AuditPane(ListPane["AuditView"]):
    TITLE = "Audit"
    KEY = "audit"
    COLUMNS = ("at", "user", "from", "action", "target", "workspace", "details")
    BINDINGS = [Binding("F", "filters", "Filters (user, action, workspace)", id="audit.filters")]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.chosen: dict[str, str] = {}

    def load(self) -> Sequence[AuditView]:
        f = self.chosen
        return self.session.s.audit.list(
            self.session.actor,
            user=f.get("user") or None,
            action=f.get("action") or None,
            workspace=f.get("workspace") or None,
            limit=500,
        )

    def filters(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.chosen.items() if v]

    def row(self, e: AuditView) -> tuple[str, list[Any]]:
        return (
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

    def action_filters(self) -> None:
        def submit(values: dict[str, str]) -> Any:
            return values

        def apply(values: Any) -> None:
            if values:
                self.chosen = values
                self.reload()

        self.app.push_screen(
            FormScreen(
                "Filter the audit trail",
                [
                    FormField("user", "User", self.chosen.get("user", "")),
                    FormField(
                        "action",
                        "Action (or a family like workspace.)",
                        self.chosen.get("action", ""),
                    ),
                    FormField("workspace", "Workspace", self.chosen.get("workspace", "")),
                ],
                submit,
                verb="Filter",
            ),
            apply,
        )
