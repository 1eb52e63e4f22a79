"""Connections: validated configs for external systems, platform-wide or per workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import connection_types as ct
from engine.context import Actor
from engine.errors import Conflict, NotFound, PermissionDenied, ValidationError
from engine.identifiers import check_identifier
from engine.models import Connection, Job, Workspace, WorkspaceMember
from engine.services import audit
from engine.services.base import (
    ADMIN,
    Service,
    authorize,
    ensure_active,
    get_user,
    get_workspace,
)
from engine.text import check_description
from engine.views import ConnectionView


def view(s: Session, conn: Connection) -> ConnectionView:
    ws = s.get(Workspace, conn.workspace_id) if conn.workspace_id else None
    return ConnectionView(
        conn.name,
        conn.type,
        ws.name if ws else None,
        ct.masked(conn.type, conn.config),
        conn.description,
        conn.created_at,
        conn.updated_at,
        conn.created_by,
    )


@dataclass(frozen=True)
class ResolvedConnection:
    """A connection with its secrets resolved, for building a backend. Never printed."""

    name: str
    type: str
    workspace: str | None
    config: dict[str, Any]

    def __repr__(self) -> str:
        return f"ResolvedConnection(name={self.name!r}, type={self.type!r})"


class ConnectionService(Service):
    def create(
        self,
        actor: Actor,
        name: str,
        type: str,
        config: dict[str, Any],
        *,
        workspace: str | None = None,
        description: str = "",
    ) -> ConnectionView:
        check_identifier(name)
        check_description(description)
        clean = ct.validate_config(type, config)
        stored = self._protect(type, clean)
        with self.unit() as s:
            ws = self._authorize_scope(s, actor, "create", workspace)
            if ws is not None and ct.runs_as_engine_account(type):
                raise PermissionDenied(
                    f"a {type} connection runs its jobs' programs as the engine's own OS "
                    "account, which reads every workspace's files and the key: only a platform "
                    "admin may create one, as a platform connection (without --workspace)"
                )
            if ws is not None:
                _refuse_engine_host_files(type, clean)
            if s.scalar(select(Connection).where(Connection.name == name)):
                raise Conflict(f"connection {name!r} already exists")
            conn = Connection(
                name=name,
                type=type,
                workspace_id=ws.id if ws else None,
                config=stored,
                description=description,
                created_by=actor.username,
            )
            s.add(conn)
            s.flush()
            audit.record(
                s,
                actor,
                "connection.create",
                "connection",
                name,
                workspace=workspace,
                details={"type": type, "config": ct.masked(type, stored)},
            )
            return view(s, conn)

    def update(
        self,
        actor: Actor,
        name: str,
        config: dict[str, Any] | None = None,
        *,
        description: str | None = None,
        unset: list[str] | tuple[str, ...] = (),
    ) -> ConnectionView:
        """Merge `config` into the stored config (and drop `unset` fields), re-validated."""
        with self.unit() as s:
            conn = self._get(s, actor, name)
            ws = s.get(Workspace, conn.workspace_id) if conn.workspace_id else None
            self._authorize_scope(s, actor, "update", ws.name if ws else None)
            incoming = config or {}
            current = {k: v for k, v in conn.config.items() if k not in set(unset)}
            clean = ct.validate_config(conn.type, {**current, **incoming})
            if ws is not None:
                _refuse_engine_host_files(conn.type, clean)
            secrets = ct.secret_fields(conn.type)
            # Stored secret references are kept as they are; only new values get protected.
            new_config = {
                k: self.deps.secrets.protect(str(v), f"config.{k}")
                if k in secrets and v and k in incoming
                else v
                for k, v in clean.items()
            }
            changed = sorted(
                k
                for k in set(new_config) | set(conn.config)
                if new_config.get(k) != conn.config.get(k)
            )
            if description is not None and description != conn.description:
                check_description(description)
                conn.description = description
                changed.append("description")
            if not changed:
                return view(s, conn)
            conn.config = new_config
            audit.record(
                s,
                actor,
                "connection.update",
                "connection",
                name,
                workspace=ws.name if ws else None,
                details={"changed": changed, "config": ct.masked(conn.type, new_config)},
            )
            return view(s, conn)

    def delete(self, actor: Actor, name: str) -> None:
        with self.unit() as s:
            conn = self._get(s, actor, name)
            ws = s.get(Workspace, conn.workspace_id) if conn.workspace_id else None
            self._authorize_scope(s, actor, "delete", ws.name if ws else None)
            users = s.scalars(
                select(Workspace.name).where(
                    or_(
                        Workspace.storage_connection_id == conn.id,
                        Workspace.catalog_connection_id == conn.id,
                        Workspace.sql_connection_id == conn.id,
                    )
                )
            ).all()
            if users:
                raise Conflict(
                    f"connection {name!r} is a default of workspace(s) {', '.join(users)}; "
                    "change their defaults first"
                )
            jobs = s.scalars(select(Job.name).where(Job.connection_id == conn.id)).all()
            if jobs:
                raise Conflict(f"connection {name!r} is used by job(s) {', '.join(jobs)}")
            s.delete(conn)
            audit.record(
                s,
                actor,
                "connection.delete",
                "connection",
                name,
                workspace=ws.name if ws else None,
                details={"type": conn.type},
            )

    def list(self, actor: Actor, workspace: str | None = None) -> list[ConnectionView]:
        """Platform-wide connections plus those of workspaces the actor belongs to."""
        with self.unit() as s:
            user = get_user(s, actor)
            q = select(Connection).order_by(Connection.name)
            if user.platform_role != ADMIN:
                mine = select(WorkspaceMember.workspace_id).where(
                    WorkspaceMember.user_id == user.id
                )
                q = q.where(
                    or_(Connection.workspace_id.is_(None), Connection.workspace_id.in_(mine))
                )
            if workspace:
                ws = get_workspace(s, workspace)
                q = q.where(
                    or_(Connection.workspace_id.is_(None), Connection.workspace_id == ws.id)
                )
            return [view(s, c) for c in s.scalars(q)]

    def get(self, actor: Actor, name: str) -> ConnectionView:
        with self.unit() as s:
            return view(s, self._get(s, actor, name))

    def resolve(
        self, actor: Actor | None, name: str, workspace: str | None = None
    ) -> ResolvedConnection:
        """The connection with secrets resolved, checking that `workspace` may use it.
        `actor=None` is the engine itself running a job (no user visibility check)."""
        with self.unit() as s:
            conn = self._get(s, actor, name) if actor else self._by_name(s, name)
            owner = s.get(Workspace, conn.workspace_id) if conn.workspace_id else None
            if owner is not None and workspace is not None and owner.name != workspace:
                raise ValidationError(
                    f"connection {name!r} belongs to workspace {owner.name!r}, not {workspace!r}",
                    field="connection",
                )
            raw = dict(conn.config)
            conn_type, ws_name = conn.type, owner.name if owner else None
        return ResolvedConnection(name, conn_type, ws_name, self.resolve_config(conn_type, raw))

    def resolve_config(self, conn_type: str, config: dict[str, Any]) -> dict[str, Any]:
        secrets = ct.secret_fields(conn_type)
        return {
            k: self.deps.secrets.resolve(v) if k in secrets and v else v for k, v in config.items()
        }

    # -- helpers ----------------------------------------------------------------------------

    def _protect(self, conn_type: str, config: dict[str, Any]) -> dict[str, Any]:
        secrets = ct.secret_fields(conn_type)
        return {
            k: self.deps.secrets.protect(str(v), f"config.{k}") if k in secrets and v else v
            for k, v in config.items()
        }

    @staticmethod
    def _authorize_scope(
        s: Session, actor: Actor, verb: str, workspace: str | None
    ) -> Workspace | None:
        if workspace is None:
            authorize(s, actor, f"connection.{verb}.platform")
            return None
        ws = get_workspace(s, workspace)
        authorize(s, actor, f"connection.{verb}.workspace", ws)
        ensure_active(ws)
        return ws

    @staticmethod
    def _by_name(s: Session, name: str) -> Connection:
        conn = s.scalar(select(Connection).where(Connection.name == name))
        if conn is None:
            raise NotFound(f"connection {name!r} does not exist")
        return conn

    @staticmethod
    def _get(s: Session, actor: Actor, name: str) -> Connection:
        user = get_user(s, actor)
        conn = s.scalar(select(Connection).where(Connection.name == name))
        if conn is not None and conn.workspace_id is not None and user.platform_role != ADMIN:
            member = s.get(WorkspaceMember, (conn.workspace_id, user.id))
            if member is None:
                conn = None
        if conn is None:
            raise NotFound(f"connection {name!r} does not exist")
        return conn


def _refuse_engine_host_files(conn_type: str, config: dict[str, Any]) -> None:
    """A workspace's connection never names a file on the engine's host (see
    connection_types.engine_host_field): refused before anything is written."""
    found = ct.engine_host_field(conn_type, config)
    if found:
        field, what = found
        raise PermissionDenied(
            f"config.{field}: a workspace's {conn_type} connection may not use {what}; "
            "only a platform admin may, as a platform connection (without --workspace)"
        )
