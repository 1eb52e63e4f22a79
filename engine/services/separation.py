"""The separation check: proof that no workspace reaches into another's data.

Reports every violation it finds: tables outside their workspace's prefix, namespaces that
belong to no workspace (or to another), jobs whose SQL the runner would refuse (touching
another workspace's namespaces, or any other rule of engine.sql_analysis.check), and
connections owned by one workspace but used by another.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import job_kinds
from engine.context import Actor
from engine.errors import SadeemError
from engine.models import Connection, Job, JobVersion, Workspace
from engine.services.base import Service, ServiceDeps, authorize, get_user, get_workspace
from engine.services.lakehouse import Lakehouse
from engine.services.provisioning import WORKSPACE_PROPERTY
from engine.services.workspaces import WorkspaceService, WorkspaceView
from engine.services.workspaces import view as workspace_view
from engine.sql_analysis import check, footprint
from engine.views import Violation


def job_refusal(
    sql: Any,
    ws: WorkspaceView,
    job_type: str,
    definition: dict[str, Any],
    connection: str | None,
    author: str,
) -> SadeemError | None:
    """What the runner would refuse in a job version's SQL (None if it would run it, or
    if its kind sends no SQL): the statements its kind says it would run are judged."""
    kind = job_kinds.find(job_type)
    if kind is None or kind.statements is None:
        return None
    dialect = sql.dialect(ws, connection)
    policy = sql.policy(ws, admin=sql.is_admin(author))
    try:
        for stmt in kind.statements(definition, ws.name):
            check(footprint(stmt, dialect), policy)
    except SadeemError as exc:
        return exc
    return None


class SeparationService(Service):
    def __init__(
        self, deps: ServiceDeps, workspaces: WorkspaceService, lakehouse: Lakehouse
    ) -> None:
        super().__init__(deps)
        self.workspaces = workspaces
        self.lakehouse = lakehouse

    def check(self, actor: Actor, workspace: str | None = None) -> list[Violation]:
        """Violations for one workspace, or for all (platform admins only)."""
        with self.unit() as s:
            if workspace is None:
                authorize(s, actor, "workspace.check.all")
            else:
                authorize(s, actor, "workspace.check", get_workspace(s, workspace))
            get_user(s, actor)
        # Every workspace, whatever the caller may list: a crossing into a workspace the
        # caller cannot see is still a crossing.
        with self.unit() as s:
            rows = s.scalars(select(Workspace).where(Workspace.archived_at.is_(None))).all()
            all_ws = [workspace_view(s, row) for row in rows]
        targets = [w for w in all_ws if workspace is None or w.name == workspace]
        owner_of = {ns: w.name for w in all_ws for ns in w.namespaces}
        found: list[Violation] = []
        # A missing or foreign embedded catalog is one finding, reported before anything
        # reads it (reading it through pyiceberg used to recreate it empty, finding nothing).
        refused = (
            self.lakehouse.guard.problem()
            if any(not w.catalog_connection for w in targets)
            else None
        )
        if refused is not None:
            found.append(
                Violation("catalog_unavailable", workspace, "embedded catalog", str(refused))
            )

        def readable(ws: WorkspaceView) -> bool:
            return bool(ws.catalog_connection) or refused is None

        for ws in filter(readable, targets):
            found += self._storage(actor, ws)
        if workspace is None:
            found += self._orphans(actor, list(filter(readable, all_ws)), owner_of)
        found += self._jobs_and_connections(targets, owner_of)
        return found

    # -- storage and catalog ----------------------------------------------------------------

    def _storage(self, actor: Actor, ws: WorkspaceView) -> list[Violation]:
        out: list[Violation] = []
        try:
            catalog = self.lakehouse.catalog(actor, ws)
            prefix = self.lakehouse.workspace_uri(actor, ws) + "/"
            for ns in ws.namespaces:
                if not catalog.namespace_exists((ns,)):
                    continue
                owner = catalog.namespace_properties((ns,)).get(WORKSPACE_PROPERTY)
                if owner not in (None, ws.name):
                    out.append(
                        Violation(
                            "foreign_namespace",
                            ws.name,
                            ns,
                            f"namespace is marked as belonging to {owner!r}",
                        )
                    )
                for table in catalog.list_tables((ns,)):
                    ident = f"{ns}.{table}"
                    location = catalog.table_info(ident).location.rstrip("/") + "/"
                    if not location.startswith(prefix):
                        out.append(
                            Violation(
                                "table_outside_prefix",
                                ws.name,
                                ident,
                                f"location {location} is outside {prefix}",
                            )
                        )
        except SadeemError as exc:
            out.append(Violation("unchecked", ws.name, "catalog", f"could not check: {exc}"))
        return out

    def _orphans(
        self, actor: Actor, all_ws: list[WorkspaceView], owner_of: dict[str, str]
    ) -> list[Violation]:
        out: list[Violation] = []
        seen: set[str | None] = set()
        for ws in all_ws:
            key = ws.catalog_connection
            if key in seen:
                continue
            seen.add(key)
            try:
                catalog = self.lakehouse.catalog(actor, ws)
                for ns_tuple in catalog.list_namespaces():
                    ns = ".".join(ns_tuple)
                    if ns not in owner_of:
                        out.append(
                            Violation(
                                "orphan_namespace",
                                None,
                                ns,
                                f"belongs to no workspace (catalog {key or 'embedded'})",
                            )
                        )
            except SadeemError as exc:
                out.append(Violation("unchecked", None, key or "embedded", str(exc)))
        return out

    # -- jobs and connections ---------------------------------------------------------------

    def _jobs_and_connections(
        self, targets: list[WorkspaceView], owner_of: dict[str, str]
    ) -> list[Violation]:
        from engine.services.sql import SqlService

        out: list[Violation] = []
        names = {w.name for w in targets}
        views = {w.name: w for w in targets}
        sql = SqlService(self.deps, self.workspaces, self.lakehouse)
        sql_jobs: list[tuple[str, str, str, dict[str, Any], str | None, str]] = []
        with self.unit() as s:
            ws_names = dict(s.execute(select(Workspace.id, Workspace.name)).all())
            conns = {c.id: c for c in s.scalars(select(Connection))}
            rows = s.execute(
                select(Job, JobVersion)
                .join(
                    JobVersion,
                    (JobVersion.job_id == Job.id) & (JobVersion.version == Job.current_version),
                )
                .where(Job.archived_at.is_(None))
            ).all()
            for ws_id, ws_name in ws_names.items():
                if ws_name not in names:
                    continue
                ws_row = s.get(Workspace, ws_id)
                for field in (
                    "storage_connection_id",
                    "catalog_connection_id",
                    "sql_connection_id",
                ):
                    conn = conns.get(getattr(ws_row, field))
                    if conn and conn.workspace_id not in (None, ws_id):
                        out.append(
                            Violation(
                                "connection_shared",
                                ws_name,
                                conn.name,
                                f"default {field[:-3]} is owned by workspace "
                                f"{ws_names.get(conn.workspace_id)!r}",
                            )
                        )
            for job, version in rows:
                ws_name = ws_names.get(job.workspace_id, "")
                if ws_name not in names:
                    continue
                conn = conns.get(job.connection_id) if job.connection_id else None
                if conn and conn.workspace_id not in (None, job.workspace_id):
                    out.append(
                        Violation(
                            "connection_shared",
                            ws_name,
                            f"job {job.name}",
                            f"uses connection {conn.name!r} owned by workspace "
                            f"{ws_names.get(conn.workspace_id)!r}",
                        )
                    )
                job_kind = job_kinds.find(job.type)
                if job_kind is not None and job_kind.statements is not None:
                    sql_jobs.append(
                        (
                            ws_name,
                            job.name,
                            job.type,
                            dict(version.definition),
                            conn.name if conn else None,
                            version.created_by,
                        )
                    )
        # Judged after the session: the rules read the metadata database themselves.
        for ws_name, job_name, job_type, definition, conn_name, author in sql_jobs:
            refusal = job_refusal(sql, views[ws_name], job_type, definition, conn_name, author)
            if refusal is not None:
                kind = "job_crosses" if "separation rule" in str(refusal) else "job_refused"
                out.append(Violation(kind, ws_name, f"job {job_name}", str(refusal)))
        return out
