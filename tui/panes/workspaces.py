"""Workspaces: members and roles, create (plan shown before apply), switch, archive, check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.message import Message

from tui.panes.base import Change, ListPane
from tui.widgets.form import FormField, FormScreen

if TYPE_CHECKING:
    from engine.views import WorkspaceView


class WorkspacesPane(ListPane["WorkspaceView"]):
    TITLE = "Workspaces"
    KEY = "workspaces"
    COLUMNS = ("name", "layers", "prefix", "members", "description")
    ENTER_ACTION = "switch"
    BINDINGS = [
        Binding("enter", "switch", "Switch", id="workspaces.switch"),
        Change("n", "create", "New", id="workspaces.create"),
        Change("p", "provision", "Provision", id="workspaces.provision"),
        Change("x", "archive", "Archive", id="workspaces.archive"),
        Binding("c", "check", "Separation check", id="workspaces.check"),
    ]

    class Switched(Message):
        """The operator chose `workspace` (Enter): the app switches once the engine says
        it exists, then this pane shows it as the current one."""

        def __init__(self, pane: WorkspacesPane, workspace: str) -> None:
            super().__init__()
            self.pane = pane
            self.workspace = workspace

    def load(self) -> Sequence[WorkspaceView]:
        return self.session.s.workspaces.list(self.session.actor)

    def row(self, w: WorkspaceView) -> tuple[str, list[Any]]:
        current = self.session.workspace
        return (
            w.name,
            [
                ("● " if w.name == current else "  ") + w.name,
                ",".join(w.layers),
                f"{w.bucket}/{w.prefix}",
                " ".join(f"{m.username}:{m.role}" for m in w.members),
                w.description,
            ],
        )

    def action_switch(self) -> None:
        key = self.selected_key()
        if key:
            self.post_message(self.Switched(self, key))

    def action_create(self) -> None:
        svc, actor = self.session.s, self.session.actor

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
                verb="Create",
            ),
            created,
        )

    def _confirm_plan(self, plan: Any) -> None:
        svc, actor = self.session.s, self.session.actor
        lines = "\n".join(f"  {s.kind:<10} {s.target:<40} {s.state}" for s in plan.steps)

        def submit(_values: dict[str, str]) -> Any:
            return svc.provisioning.apply(actor, plan.workspace)

        self.app.push_screen(
            FormScreen(
                f"Provision {plan.workspace}: apply this plan?",
                [],
                submit,
                verb="Provision",
                intro=lines,
            ),
            self.answered(f"{plan.workspace} provisioned", reload=False),
        )

    def action_provision(self) -> None:
        key = self.selected_key()
        if key:
            self.in_thread(
                lambda: self.session.s.provisioning.plan(self.session.actor, key),
                self._confirm_plan,
            )

    def action_archive(self) -> None:
        key = self.selected_key()
        if not key:
            return
        # Archiving cannot be undone, so a stray `x` only opens the question.
        self.app.push_screen(
            FormScreen(
                f"Archive {key}?",
                [],
                lambda _values: self.session.s.workspaces.archive(self.session.actor, key),
                verb="Archive",
                intro="Its tables and history stay readable; it accepts no change again.\n"
                "ctrl+s archives, Esc keeps it as it is.",
            ),
            self.answered(f"{key} archived"),
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

        self.in_thread(lambda: self.session.s.separation.check(self.session.actor, key), done)
