"""Interactive SQL in a workspace: role and separation checks, history, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.backends.base import QueryContext, QueryHandle, QueryProgress
from engine.context import Actor
from engine.errors import PermissionDenied, QueryCancelled, QueryError, ValidationError
from engine.models import QueryHistory
from engine.services import audit
from engine.services.base import ADMIN, Service, authorize, get_user, get_workspace, role_in
from engine.services.lakehouse import Lakehouse
from engine.services.workspaces import WorkspaceService
from engine.sql_analysis import SqlFootprint, footprint

if TYPE_CHECKING:
    import pyarrow as pa

MAX_SQL_LENGTH = 1_000_000


@dataclass(frozen=True)
class HistoryView:
    id: int
    username: str
    workspace: str | None
    connection: str | None
    sql: str
    state: str
    started_at: datetime
    duration_ms: int | None
    rows: int | None
    query_id: str | None
    error: str | None


class TrackedQuery:
    """A running statement; records its history row once, when it ends however it ends."""

    def __init__(self, service: SqlService, handle: QueryHandle, record: dict) -> None:
        self._service = service
        self._handle = handle
        self._record = record
        self._started = time.monotonic()
        self._rows = 0
        self._done = threading.Event()
        self.cancelled = False

    @property
    def query_id(self) -> str | None:
        return self._handle.query_id

    @property
    def ui_link(self) -> str | None:
        return self._handle.ui_link

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def progress(self) -> QueryProgress:
        return self._handle.progress()

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream result batches; the history row is written when the stream ends."""
        try:
            for batch in self._handle.batches():
                self._rows += batch.num_rows
                yield batch
        except QueryCancelled:
            self._finish("cancelled")
            raise
        except QueryError as exc:
            self._finish("failed", str(exc))
            raise
        self._finish("succeeded")

    def fetch(self, max_rows: int | None = None) -> pa.Table:
        """Up to `max_rows` rows (all when None); call again to fetch more."""
        try:
            table = self._handle.fetch(max_rows)
        except QueryCancelled:
            self._finish("cancelled")
            raise
        except QueryError as exc:
            self._finish("failed", str(exc))
            raise
        self._rows += table.num_rows
        if max_rows is None or table.num_rows < max_rows:
            self._finish("succeeded")
        return table

    def cancel(self) -> None:
        """Stop the query on the server."""
        self.cancelled = True
        self._handle.cancel()
        self._finish("cancelled")

    def close(self) -> None:
        """Stop reading: a query abandoned with rows left is recorded as succeeded."""
        self._finish("succeeded")

    def _finish(self, state: str, error: str | None = None) -> None:
        if self._done.is_set():
            return
        self._done.set()
        self._service._record_history(
            {
                **self._record,
                "state": state,
                "error": error,
                "rows": self._rows,
                "duration_ms": int((time.monotonic() - self._started) * 1000),
                "query_id": self._handle.query_id,
            }
        )


class SqlService(Service):
    def __init__(self, ctx, workspaces: WorkspaceService, lakehouse: Lakehouse) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.workspaces = workspaces
        self.lakehouse = lakehouse

    def check(self, actor: Actor, workspace: str, sql: str) -> SqlFootprint | None:
        """Refuse what the actor may not run here; the footprint when the SQL parses."""
        if not sql.strip():
            raise ValidationError("the statement is empty", field="sql")
        if len(sql) > MAX_SQL_LENGTH:
            raise ValidationError(f"longer than {MAX_SQL_LENGTH} characters", field="sql")
        try:
            fp: SqlFootprint | None = footprint(sql)
        except QueryError:
            # Dialect features sqlglot does not know: the engine gives the real error.
            fp = None
        with self.unit() as s:
            ws_row = get_workspace(s, workspace)
            read_only = fp is not None and fp.read_only
            authorize(s, actor, "sql.read" if read_only else "sql.write", ws_row)
            is_admin = role_in(s, get_user(s, actor), ws_row) == ADMIN
        if fp is not None and not is_admin:
            others = self._foreign_namespaces(workspace, fp)
            if others:
                ns, owner = others[0]
                raise PermissionDenied(
                    f"{ns} belongs to workspace {owner!r}; a query in {workspace!r} may only "
                    f"use its own namespaces"
                )
        return fp

    def execute(
        self,
        actor: Actor,
        workspace: str,
        sql: str,
        *,
        connection: str | None = None,
        on_progress: Callable[[QueryProgress], None] | None = None,
        client_tag: str = "interactive",
    ) -> TrackedQuery:
        """Start `sql` on the workspace's SQL connection (or `connection`)."""
        fp = self.check(actor, workspace, sql)
        ws = self.workspaces.get(actor, workspace)
        conn_name, backend = self.lakehouse.sql(actor, ws, connection)
        ctx = QueryContext(
            user=actor.username,
            schema=ws.namespace(ws.layers[0]) if ws.layers else None,
            client_tags=(client_tag,),
        )
        record = {
            "username": actor.username,
            "workspace": workspace,
            "connection": conn_name,
            "sql": sql,
        }
        try:
            handle = backend.execute(sql, ctx, on_progress)
        except QueryError as exc:
            self._record_history(
                {
                    **record,
                    "state": "failed",
                    "error": str(exc),
                    "rows": 0,
                    "duration_ms": 0,
                    "query_id": None,
                }
            )
            raise
        if fp is None or not fp.read_only:
            with self.unit() as s:
                audit.record(
                    s,
                    actor,
                    "sql.write",
                    "sql",
                    conn_name,
                    workspace=workspace,
                    details={
                        "sql": sql[:2000],
                        "writes": sorted(str(t) for t in fp.writes) if fp else None,
                    },
                )
        return TrackedQuery(self, handle, record)

    def warm(self, actor: Actor, workspace: str) -> None:
        """Load what a first query needs (the SQL parser; for the embedded engine, DuckDB
        and the catalog's tables) so the operator's first query does not pay for it.
        Sends nothing to a remote engine and records nothing."""
        self.check(actor, workspace, "SELECT 1")
        ws = self.workspaces.get(actor, workspace)
        from engine.backends.duckdb import DuckDBBackend

        _name, backend = self.lakehouse.sql(actor, ws)
        try:
            if isinstance(backend, DuckDBBackend):
                backend.execute("SELECT 1", QueryContext(user=actor.username), None).fetch()
        finally:
            backend.close()

    def history(
        self,
        actor: Actor,
        *,
        workspace: str | None = None,
        search: str | None = None,
        limit: int = 100,
    ) -> list[HistoryView]:
        """The actor's own statements, newest first, optionally filtered by text."""
        with self.unit() as s:
            get_user(s, actor)
            q = (
                select(QueryHistory)
                .where(QueryHistory.username == actor.username)
                .order_by(QueryHistory.id.desc())
                .limit(max(1, min(limit, 5000)))
            )
            if workspace:
                q = q.where(QueryHistory.workspace == workspace)
            if search:
                q = q.where(QueryHistory.sql.contains(search, autoescape=True))
            return [
                HistoryView(
                    h.id,
                    h.username,
                    h.workspace,
                    h.connection,
                    h.sql,
                    h.state,
                    h.started_at,
                    h.duration_ms,
                    h.rows,
                    h.query_id,
                    h.error,
                )
                for h in s.scalars(q)
            ]

    # -- helpers ----------------------------------------------------------------------------

    def _record_history(self, values: dict) -> None:
        with self.unit() as s:
            s.add(QueryHistory(**values))

    def _foreign_namespaces(self, workspace: str, fp: SqlFootprint) -> list[tuple[str, str]]:
        from engine.models import Workspace

        with self.unit() as s:
            rows = s.execute(select(Workspace.name, Workspace.layers)).all()
        owner = {f"{name}_{layer}": name for name, layers in rows for layer in layers}
        return [
            (ns, owner[ns])
            for ns in sorted(fp.namespaces)
            if ns in owner and owner[ns] != workspace
        ]
