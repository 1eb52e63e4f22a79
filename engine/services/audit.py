"""The audit trail: one event per successful mutating action, written in its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.context import Actor
from engine.models import AuditEvent, WorkspaceMember
from engine.models import Workspace as WorkspaceRow
from engine.services.base import ADMIN, Service, get_user
from engine.views import AuditView

# Keys whose values are credentials wherever they appear in details; masked before writing.
_SECRET_WORDS = ("password", "secret", "token", "credential", "private_key", "api_key")


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with every credential-looking key masked, recursively."""
    if key and any(word in key.lower() for word in _SECRET_WORDS):
        return "***" if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target: str,
    workspace: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one audit event to the caller's transaction."""
    session.add(
        AuditEvent(
            username=actor.username,
            source=actor.source,
            action=action,
            target_type=target_type,
            target=target,
            workspace=workspace,
            details=redact(details or {}),
        )
    )


class AuditService(Service):
    def refused(self, actor: Actor, action: str, reason: str) -> None:
        """One event for a call the engine's API refused (role, read-only session)."""
        with self.unit() as s:
            record(s, actor, "api.refused", "verb", action, details={"reason": reason[:500]})

    def list(
        self,
        actor: Actor,
        *,
        user: str | None = None,
        workspace: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[AuditView]:
        """Newest first. Admins see everything; owners their workspaces; others their own."""
        with self.unit() as s:
            me = get_user(s, actor)
            q = (
                select(AuditEvent)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(max(1, min(limit, 10000)))
            )
            if me.platform_role != ADMIN:
                owned = (
                    select(WorkspaceRow.name)
                    .join(WorkspaceMember, WorkspaceMember.workspace_id == WorkspaceRow.id)
                    .where(WorkspaceMember.user_id == me.id, WorkspaceMember.role == "owner")
                )
                q = q.where(
                    or_(AuditEvent.username == me.username, AuditEvent.workspace.in_(owned))
                )
            if user:
                q = q.where(AuditEvent.username == user)
            if workspace:
                q = q.where(AuditEvent.workspace == workspace)
            if action:
                # `workspace.` selects a family, `workspace.create` one action.
                if action.endswith("."):
                    q = q.where(AuditEvent.action.startswith(action))
                else:
                    q = q.where(AuditEvent.action == action)
            if since:
                q = q.where(AuditEvent.at >= since)
            if until:
                q = q.where(AuditEvent.at < until)
            return [
                AuditView(
                    e.id,
                    e.at,
                    e.username,
                    e.source,
                    e.action,
                    e.target_type,
                    e.target,
                    e.workspace,
                    e.details,
                )
                for e in s.scalars(q)
            ]
