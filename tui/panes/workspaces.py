"""Workspaces: members and roles, create (plan shown before apply), switch, archive, check."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.panes.base import ListPane
from tui.widgets.form import FormField, FormScreen


class WorkspacesPane(ListPane):
    TITLE = "Workspaces"
    KEY = "workspaces"
    COLUMNS = ("name", "layers", "prefix", "members", "description")
    ENTER_ACTION = "switch"
    BINDINGS = [
        Binding("enter", "switch", "Switch"),
        Binding("n", "create", "New"),
        Binding("p", "provision", "Provision"),
        Binding("x", "archive", "Archive"),
        Binding("c", "check", "Separation check"),
    ]

    def load(self) -> Any:
        return self.ctx.s.workspaces.list(self.ctx.actor)

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        current = self.ctx.workspace
        return [
            (
                w.name,
                [
                    ("● " if w.name == current else "  ") + w.name,
                    ",".join(w.layers),
                    f"{w.bucket}/{w.prefix}",
                    " ".join(f"{m.username}:{m.role}" for m in w.members),
                    w.description,
                ],
            )
            for w in data
        ]

    def action_switch(self) -> None:
        key = self.selected_key()
        if key:
            self.app.switch_workspace(key)  # type: ignore[attr-defined]
            self.reload()

    def action_create(self) -> None:
        if not self.may_change():
            return
        svc, actor = self.ctx.s, self.ctx.actor

        def submit(values: dict[str, str]) -> Any:
            ws = svc.workspaces.create(
                actor, values["name"].strip(), description=values["description"]
            )
            return svc.provisioning.plan(actor, ws.name)

        def created(plan: Any) -> None:
            if plan:
                self.reload()
                self._confirm_plan(plan)

        self.app.push_screen(
            FormScreen(
                "New workspace",
                [
                    FormField("name", "Name (lowercase letters, digits, _)"),
                    FormField("description", "Description"),
                ],
                submit,
            ),
            created,
        )

    def _confirm_plan(self, plan: Any) -> None:
        svc, actor = self.ctx.s, self.ctx.actor
        lines = "\n".join(f"  {s.kind:<10} {s.target:<40} {s.state}" for s in plan.steps)

        def submit(_values: dict[str, str]) -> Any:
            return svc.provisioning.apply(actor, plan.workspace)

        self.app.push_screen(
            FormScreen(f"Provision {plan.workspace}: apply this plan?", [], submit, intro=lines),
            lambda done: done and self.app.notify(f"{plan.workspace} provisioned"),
        )

    def action_provision(self) -> None:
        key = self.selected_key()
        if key and self.may_change():
            self.in_thread(
                lambda: self.ctx.s.provisioning.plan(self.ctx.actor, key),
                self._confirm_plan,
            )

    def action_archive(self) -> None:
        key = self.selected_key()
        if not key or not self.may_change():
            return
        # Archiving cannot be undone, so a stray `x` only opens the question.
        self.app.push_screen(
            FormScreen(
                f"Archive {key}?",
                [],
                lambda _values: self.ctx.s.workspaces.archive(self.ctx.actor, key),
                intro="Its tables and history stay readable; it accepts no change again.\n"
                "ctrl+s archives, Esc keeps it as it is.",
            ),
            lambda done: done and (self.app.notify(f"{key} archived"), self.reload()),
        )

    def action_check(self) -> None:
        key = self.selected_key()
        if not key:
            return

        def done(found: list[Any]) -> None:
            if not found:
                self.app.notify(f"{key}: no separation violations")
                return
            text = "\n".join(f"{v.kind}: {v.subject}: {v.detail}" for v in found)
            self.app.notify(
                f"{key}: {len(found)} violation(s)\n{text}", severity="error", timeout=15
            )

        self.in_thread(lambda: self.ctx.s.separation.check(self.ctx.actor, key), done)
