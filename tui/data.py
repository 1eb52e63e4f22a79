"""The console's only door into the engine: every call goes through the services as the
console's actor. Panes call these from thread workers, never on the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.context import Actor


@dataclass
class Console:
    services: Any
    actor: Actor
    workspace: str | None
    read_only: bool = False

    @property
    def s(self) -> Any:
        return self.services

    def role(self) -> str | None:
        return self.s.users.role_in(self.actor, self.workspace) if self.workspace else None

    def can_change(self) -> bool:
        return not self.read_only and self.role() not in (None, "viewer")

    def status_line(self) -> dict[str, Any]:
        status = self.s.engine_state.status()
        return {
            "holder": status.lease_holder,
            "queue": status.queue_depth,
            "running": status.running,
        }
