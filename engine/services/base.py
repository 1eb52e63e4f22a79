"""What every service shares: the engine context, units of work, views and access checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import Actor
from engine.db import Database
from engine.errors import Conflict, NotFound, PermissionDenied
from engine.models import User, Workspace, WorkspaceMember
from engine.secrets import SecretBox
from engine.settings import Settings

# Workspace roles, weakest first; a role may do everything the roles before it may.
WORKSPACE_ROLES = ("viewer", "runner", "editor", "owner")
PLATFORM_ROLES = ("user", "admin")
ADMIN = "admin"

# The least role each action needs. `admin` = platform admins only. The role matrix test
# walks this table, so it is the single source of truth for who may do what.
REQUIRED_ROLE: dict[str, str] = {
    "workspace.create": ADMIN,
    "workspace.show": "viewer",
    "workspace.update": "owner",
    "workspace.archive": "owner",
    "workspace.member.add": "owner",
    "workspace.member.remove": "owner",
    "workspace.provision": "owner",
    "workspace.check": "viewer",
    "workspace.check.all": ADMIN,
    "connection.create.platform": ADMIN,
    "connection.create.workspace": "owner",
    "connection.update.platform": ADMIN,
    "connection.update.workspace": "owner",
    "connection.delete.platform": ADMIN,
    "connection.delete.workspace": "owner",
    "connection.test": "viewer",
    "user.create": ADMIN,
    "user.update": ADMIN,
    "audit.read.workspace": "owner",
    "audit.read.all": ADMIN,
    "catalog.read": "viewer",
    "catalog.adopt": ADMIN,
    "sql.read": "viewer",
    "sql.write": "runner",
    "job.show": "viewer",
    "job.create": "editor",
    "job.edit": "editor",
    "job.pause": "editor",
    "job.run": "runner",
    "run.show": "viewer",
    "run.cancel": "runner",
    "run.retry": "runner",
}

# The actions that change nothing; a read-only session may do these and no other. Listed
# this way round so that an action added to REQUIRED_ROLE counts as a change until someone
# says otherwise: a forgotten entry refuses a read, it never lets a change through.
READS = frozenset(
    {
        "workspace.show",
        "workspace.check",
        "workspace.check.all",
        "connection.test",
        "audit.read.workspace",
        "audit.read.all",
        "catalog.read",
        "sql.read",
        "job.show",
        "run.show",
    }
)


@dataclass
class ServiceDeps:
    """Process-wide collaborators every service uses."""

    settings: Settings
    db: Database
    secrets: SecretBox


class Service:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One transaction: the work and its audit event commit together or not at all."""
        with self.deps.db.session() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads (it commits nothing and waits for no writer)."""
        with self.deps.db.reading() as session:
            yield session


def get_user(session: Session, actor: Actor) -> User:
    user = session.scalar(select(User).where(User.username == actor.username))
    if user is None or not user.is_active:
        raise PermissionDenied(
            f"user {actor.username!r} is not registered or not active; an admin can add it "
            f"with `sadeem user create {actor.username}`"
        )
    return user


def get_workspace(session: Session, name: str, *, for_update: bool = False) -> Workspace:
    stmt = select(Workspace).where(Workspace.name == name)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    ws = session.scalar(stmt)
    if ws is None:
        raise NotFound(f"workspace {name!r} does not exist")
    return ws


def role_in(session: Session, user: User, workspace: Workspace | None) -> str | None:
    """The user's effective role: `admin` for platform admins, else the membership role."""
    if user.platform_role == ADMIN:
        return ADMIN
    if workspace is None:
        return None
    member = session.get(WorkspaceMember, (workspace.id, user.id))
    return member.role if member else None


def allows(role: str | None, required: str) -> bool:
    if role == ADMIN:
        return True
    if role is None or required == ADMIN:
        return False
    return WORKSPACE_ROLES.index(role) >= WORKSPACE_ROLES.index(required)


def authorize(
    session: Session,
    actor: Actor,
    action: str,
    workspace: Workspace | None = None,
    *,
    changes: bool | None = None,
) -> User:
    """Refuse unless the actor's role allows `action` (in `workspace`) and, when it changes
    something (`changes`, by default: it is not in READS), the session is not read-only.
    Returns the user row."""
    user = get_user(session, actor)
    where = workspace.name if workspace is not None else None
    check_role(actor, action, role_in(session, user, workspace), where, changes=changes)
    return user


def check_role(
    actor: Actor,
    action: str,
    role: str | None,
    workspace: str | None = None,
    *,
    changes: bool | None = None,
) -> None:
    """authorize's rule for a role already looked up (the actor's in `workspace`)."""
    required = REQUIRED_ROLE[action]
    if not allows(role, required):
        where = f" in workspace {workspace!r}" if workspace is not None else ""
        needed = "a platform admin" if required == ADMIN else f"role {required!r} or higher"
        have = f"your role is {role!r}" if role else "you are not a member"
        raise PermissionDenied(f"{action} needs {needed}{where}; {have}")
    refuse_read_only(actor, action, action not in READS if changes is None else changes)


def refuse_read_only(actor: Actor, action: str, changes: bool = True) -> None:
    """PermissionDenied for a change asked by a read-only session, from any front end."""
    if changes and actor.read_only:
        raise PermissionDenied(
            f"read-only session: {action} changes something, and this session "
            "(--read-only, or a viewer's console) changes nothing"
        )


def ensure_active(workspace: Workspace) -> None:
    if workspace.archived_at is not None:
        raise Conflict(f"workspace {workspace.name!r} is archived; it accepts no changes")
