"""Workspaces (tenants): create, list, show, update, archive, and their members."""

from __future__ import annotations

import builtins
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import connection_types as ct
from engine.backends.kinds import Role
from engine.context import Actor
from engine.errors import Conflict, NotFound, ValidationError
from engine.identifiers import check_identifier
from engine.models import Connection, User, Workspace, WorkspaceMember, utcnow
from engine.services import audit
from engine.services.base import (
    ADMIN,
    WORKSPACE_ROLES,
    Service,
    authorize,
    ensure_active,
    get_user,
    get_workspace,
    role_in,
)
from engine.text import check_description
from engine.views import MemberView, WorkspaceView

DEFAULT_BUCKET = "sadeem"
DEFAULT_LAYERS = ("bronze", "silver", "gold")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_\-/]{0,254}")


def check_bucket(value: str) -> str:
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValidationError(
            f"{value!r} is not a valid bucket name: 3-63 lowercase letters, digits, '.', '-'",
            field="bucket",
        )
    return value


def check_prefix(value: str) -> str:
    value = value.strip("/")
    if not _PREFIX.fullmatch(value) or ".." in value.split("/") or "//" in value:
        raise ValidationError(
            f"{value!r} is not a valid prefix: lowercase path segments of letters, digits, "
            "'_' and '-' separated by '/'",
            field="prefix",
        )
    return value


def view(s: Session, ws: Workspace) -> WorkspaceView:
    def conn_name(conn_id: int | None) -> str | None:
        conn = s.get(Connection, conn_id) if conn_id else None
        return conn.name if conn else None

    members = s.execute(
        select(User.username, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == ws.id)
        .order_by(User.username)
    )
    return workspace_view(
        ws,
        conn_name(ws.storage_connection_id),
        conn_name(ws.catalog_connection_id),
        conn_name(ws.sql_connection_id),
        [MemberView(u, r) for u, r in members],
    )


def workspace_view(
    ws: Workspace,
    storage: str | None,
    catalog: str | None,
    sql: str | None,
    members: list[MemberView],
) -> WorkspaceView:
    """The view of a workspace row whose connection names and members are already read
    (view() reads them; the runner reads them for a whole claim batch at once)."""
    return WorkspaceView(
        name=ws.name,
        description=ws.description,
        bucket=ws.bucket,
        prefix=ws.prefix,
        layers=list(ws.layers),
        archived=ws.archived_at is not None,
        created_at=ws.created_at,
        created_by=ws.created_by,
        storage_connection=storage,
        catalog_connection=catalog,
        sql_connection=sql,
        members=members,
    )


# Which connection types may serve as a workspace's storage, catalog and SQL default.
# The role a workspace default's connection has (its kind's declared role).
_DEFAULT_ROLES: dict[str, Role] = {
    "storage_connection": "storage",
    "catalog_connection": "catalog",
    "sql_connection": "sql",
}


def _resolve_default(s: Session, field: str, name: str | None, ws: Workspace | None) -> int | None:
    if not name:
        return None
    conn = s.scalar(select(Connection).where(Connection.name == name))
    if conn is None:
        raise ValidationError(f"connection {name!r} does not exist", field=field)
    expected = ct.type_names(_DEFAULT_ROLES[field])
    if conn.type not in expected:
        raise ValidationError(
            f"connection {name!r} is a {conn.type} connection; expected {' or '.join(expected)}",
            field=field,
        )
    if conn.workspace_id is not None and (ws is None or conn.workspace_id != ws.id):
        raise ValidationError(f"connection {name!r} belongs to another workspace", field=field)
    return conn.id


class WorkspaceService(Service):
    def create(
        self,
        actor: Actor,
        name: str,
        *,
        description: str = "",
        bucket: str | None = None,
        prefix: str | None = None,
        layers: list[str] | tuple[str, ...] | None = None,
        storage_connection: str | None = None,
        catalog_connection: str | None = None,
        sql_connection: str | None = None,
    ) -> WorkspaceView:
        """Register a workspace; the creator becomes its owner. Provisioning is separate."""
        check_identifier(name)
        layer_list = list(layers or DEFAULT_LAYERS)
        for layer in layer_list:
            check_identifier(layer, "layers")
            check_identifier(f"{name}_{layer}", "layers")
        if len(set(layer_list)) != len(layer_list):
            raise ValidationError("layers must be distinct", field="layers")
        check_description(description)
        with self.unit() as s:
            user = authorize(s, actor, "workspace.create")
            if s.scalar(select(Workspace).where(Workspace.name == name)):
                raise Conflict(f"workspace {name!r} already exists")
            storage_id = _resolve_default(s, "storage_connection", storage_connection, None)
            default_bucket = DEFAULT_BUCKET
            if storage_id is not None:
                default_bucket = (
                    s.get_one(Connection, storage_id).config.get("bucket") or DEFAULT_BUCKET
                )
            ws = Workspace(
                name=name,
                description=description,
                bucket=check_bucket(bucket or default_bucket),
                prefix=check_prefix(prefix or f"workspaces/{name}"),
                layers=layer_list,
                storage_connection_id=storage_id,
                catalog_connection_id=_resolve_default(
                    s, "catalog_connection", catalog_connection, None
                ),
                sql_connection_id=_resolve_default(s, "sql_connection", sql_connection, None),
                created_by=actor.username,
            )
            s.add(ws)
            s.flush()
            s.add(WorkspaceMember(workspace_id=ws.id, user_id=user.id, role="owner"))
            s.flush()
            result = view(s, ws)
            audit.record(
                s,
                actor,
                "workspace.create",
                "workspace",
                name,
                workspace=name,
                details={"bucket": ws.bucket, "prefix": ws.prefix, "layers": layer_list},
            )
            return result

    def list(self, actor: Actor, *, include_archived: bool = False) -> list[WorkspaceView]:
        """Workspaces the actor can see: all for admins, memberships for everyone else."""
        with self.unit() as s:
            user = get_user(s, actor)
            q = select(Workspace).order_by(Workspace.name)
            if user.platform_role != ADMIN:
                q = q.join(WorkspaceMember).where(WorkspaceMember.user_id == user.id)
            if not include_archived:
                q = q.where(Workspace.archived_at.is_(None))
            return [view(s, ws) for ws in s.scalars(q)]

    def get(self, actor: Actor, name: str) -> WorkspaceView:
        with self.unit() as s:
            ws = self._visible(s, actor, name)
            return view(s, ws)

    def update(
        self,
        actor: Actor,
        name: str,
        *,
        description: str | None = None,
        storage_connection: str | None = None,
        catalog_connection: str | None = None,
        sql_connection: str | None = None,
    ) -> WorkspaceView:
        """Change the description or default connections (`""` clears a default)."""
        with self.unit() as s:
            ws = self._visible(s, actor, name, for_update=True)
            authorize(s, actor, "workspace.update", ws)
            ensure_active(ws)
            changes: dict[str, object] = {}
            if description is not None and description != ws.description:
                check_description(description)
                ws.description = changes["description"] = description
            for field, value in (
                ("storage_connection", storage_connection),
                ("catalog_connection", catalog_connection),
                ("sql_connection", sql_connection),
            ):
                if value is None:
                    continue
                new_id = _resolve_default(s, field, value, ws)
                if getattr(ws, f"{field}_id") != new_id:
                    setattr(ws, f"{field}_id", new_id)
                    changes[field] = value or None
            if changes:
                audit.record(
                    s,
                    actor,
                    "workspace.update",
                    "workspace",
                    name,
                    workspace=name,
                    details=changes,
                )
            return view(s, ws)

    def archive(self, actor: Actor, name: str) -> WorkspaceView:
        """Archive: the workspace stays readable for history but accepts no changes."""
        with self.unit() as s:
            ws = self._visible(s, actor, name, for_update=True)
            authorize(s, actor, "workspace.archive", ws)
            ensure_active(ws)
            ws.archived_at = utcnow()
            audit.record(s, actor, "workspace.archive", "workspace", name, workspace=name)
            return view(s, ws)

    def members(self, actor: Actor, name: str) -> builtins.list[MemberView]:
        return self.get(actor, name).members

    def add_member(self, actor: Actor, name: str, username: str, role: str) -> MemberView:
        """Add a member or change a member's role."""
        if role not in WORKSPACE_ROLES:
            raise ValidationError(f"must be one of {', '.join(WORKSPACE_ROLES)}", field="role")
        with self.unit() as s:
            ws = self._visible(s, actor, name, for_update=True)
            authorize(s, actor, "workspace.member.add", ws)
            ensure_active(ws)
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"user {username!r} does not exist")
            member = s.get(WorkspaceMember, (ws.id, user.id))
            previous = member.role if member else None
            if previous == role:
                raise Conflict(f"{username!r} already has role {role!r} in {name!r}")
            if previous == "owner" and self._owner_count(s, ws) == 1:
                raise Conflict(f"{username!r} is the last owner of {name!r}; add another first")
            if member is None:
                s.add(WorkspaceMember(workspace_id=ws.id, user_id=user.id, role=role))
            else:
                member.role = role
            audit.record(
                s,
                actor,
                "workspace.member.add",
                "user",
                username,
                workspace=name,
                details={"role": role, "previous_role": previous},
            )
            return MemberView(username, role)

    def remove_member(self, actor: Actor, name: str, username: str) -> None:
        with self.unit() as s:
            ws = self._visible(s, actor, name, for_update=True)
            authorize(s, actor, "workspace.member.remove", ws)
            ensure_active(ws)
            user = s.scalar(select(User).where(User.username == username))
            member = s.get(WorkspaceMember, (ws.id, user.id)) if user else None
            if member is None:
                raise NotFound(f"{username!r} is not a member of {name!r}")
            if member.role == "owner" and self._owner_count(s, ws) == 1:
                raise Conflict(f"{username!r} is the last owner of {name!r}")
            s.delete(member)
            audit.record(
                s,
                actor,
                "workspace.member.remove",
                "user",
                username,
                workspace=name,
                details={"role": member.role},
            )

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _owner_count(s: Session, ws: Workspace) -> int:
        return len(
            s.scalars(
                select(WorkspaceMember).where(
                    WorkspaceMember.workspace_id == ws.id, WorkspaceMember.role == "owner"
                )
            ).all()
        )

    @staticmethod
    def _visible(s: Session, actor: Actor, name: str, *, for_update: bool = False) -> Workspace:
        """The workspace if the actor may see it; NotFound otherwise (no existence leak)."""
        user = get_user(s, actor)
        try:
            ws = get_workspace(s, name, for_update=for_update)
        except NotFound:
            raise NotFound(f"workspace {name!r} does not exist") from None
        if role_in(s, user, ws) is None:
            raise NotFound(f"workspace {name!r} does not exist")
        return ws
