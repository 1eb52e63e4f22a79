"""Interactive SQL in a workspace: the footprint's rules and the role, history, cancel.

Every text is parsed once, with the dialect of the engine that will run it, and the one
footprint decides the refusal (engine.sql_analysis.check), the role (`sql.read` for reads,
`sql.write` otherwise) and the audit event."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.backends import factory, kinds
from engine.backends.base import QueryContext, QueryHandle, QueryProgress, Warmable
from engine.context import Actor
from engine.errors import QueryCancelled, QueryError, SadeemError, ValidationError, located
from engine.models import Connection, QueryHistory, User, Workspace
from engine.services import audit
from engine.services.base import (
    ADMIN,
    Service,
    ServiceDeps,
    check_role,
    get_user,
    get_workspace,
    role_in,
)
from engine.services.lakehouse import Lakehouse
from engine.services.workspaces import WorkspaceService, WorkspaceView, view
from engine.sql_analysis import Policy, SqlFootprint, footprint, statement_spans
from engine.sql_analysis import check as check_footprint
from engine.views import HistoryView, ScriptStatement

if TYPE_CHECKING:
    import pyarrow as pa

MAX_SQL_LENGTH = 1_000_000


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Scope:
    """What one check of a statement learned in one read: the workspace, the actor's role
    there, the dialect of the engine that runs it and the separation rule's inputs."""

    ws: WorkspaceView
    role: str
    dialect: str
    policy: Policy


class TrackedQuery:
    """A running statement; records its history row once, when it ends however it ends."""

    def __init__(
        self,
        service: SqlService,
        handle: QueryHandle,
        record: dict,
        where: ScriptStatement | None = None,
    ) -> None:
        self._service = service
        self._handle = handle
        self._record = record
        self.where = where  # its place in a script; errors then point into the script
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
            raise located(exc, self.where) from None
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
            raise located(exc, self.where) from None
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
        close = getattr(self._handle, "close", None)  # an optional ability (DuckDB's cursor)
        if close is not None:
            close()

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


def script_statements(sql: str) -> list[ScriptStatement]:
    """The statements of `sql` with their positions (engine.sql_analysis.statement_spans)."""
    spans = statement_spans(sql)
    out = []
    for i, (a, b) in enumerate(spans, start=1):
        before = sql[:a]
        line = before.count("\n") + 1
        column = a - (before.rfind("\n") + 1) + 1
        out.append(ScriptStatement(i, len(spans), sql[a:b], line, column))
    return out


class Script:
    """A checked script whose statements run one after another: iterating starts the next
    statement only once the previous one's result was read or closed (it is closed when
    the caller moves on, whatever it read), so the engine never holds two open results.
    Every statement was checked before the first one started (SqlService.script), and each
    one after the first is checked again when it starts."""

    def __init__(
        self,
        service: SqlService,
        actor: Actor,
        scope: _Scope,
        statements: list[tuple[ScriptStatement, SqlFootprint]],
        *,
        connection: str | None,
        on_progress: Callable[[QueryProgress], None] | None,
        client_tag: str,
    ) -> None:
        self._service = service
        self._actor = actor
        self._scope = scope
        self._statements = statements
        self._connection = connection
        self._on_progress = on_progress
        self._client_tag = client_tag
        self._cancelled = threading.Event()
        self.current: TrackedQuery | None = None

    @property
    def statements(self) -> list[ScriptStatement]:
        return [st for st, _fp in self._statements]

    def __len__(self) -> int:
        return len(self._statements)

    def __iter__(self) -> Iterator[TrackedQuery]:
        for i, (st, fp) in enumerate(self._statements):
            if self._cancelled.is_set():
                raise QueryCancelled(f"cancelled before {st.label}")
            scope = self._scope
            if i:
                # Checked again as it starts: a role taken away (or a user deactivated)
                # while the script runs stops it at its next statement, not at its end.
                [fp], scope = self._service._judge(
                    self._actor, scope.ws.name, [st.sql], self._connection, [st]
                )
            query = self._service._start(
                self._actor,
                scope,
                st.sql,
                fp,
                connection=self._connection,
                on_progress=self._on_progress,
                client_tag=self._client_tag,
                where=st,
            )
            self.current = query
            try:
                yield query
            finally:
                query.close()
                self.current = None

    def close(self) -> None:
        """Stop reading: the statement in hand is closed, the rest never start."""
        self._cancelled.set()
        query = self.current
        if query is not None:
            query.close()

    def cancel(self) -> None:
        """Stop the statement running now on the server; the rest never start."""
        self._cancelled.set()
        query = self.current
        if query is not None:
            query.cancel()


def policy_rows(s: Session) -> list[tuple[Any, ...]]:
    """What the SQL rules need of every workspace (SqlService.policy_from reads it): its
    name, layers, bucket, prefix and storage connection."""
    rows = s.execute(
        select(
            Workspace.name,
            Workspace.layers,
            Workspace.bucket,
            Workspace.prefix,
            Workspace.storage_connection_id,
        )
    )
    return [tuple(r) for r in rows]


class SqlService(Service):
    def __init__(
        self, deps: ServiceDeps, workspaces: WorkspaceService, lakehouse: Lakehouse
    ) -> None:
        super().__init__(deps)
        self.workspaces = workspaces
        self.lakehouse = lakehouse
        # History rows are written by one thread of their own, in order: a statement's
        # result never waits for its history row (about a millisecond a statement).
        self._history_writer: ThreadPoolExecutor | None = None
        self._history_lock = threading.Lock()
        self._history_pending: Future | None = None

    def check(
        self, actor: Actor, workspace: str, sql: str, connection: str | None = None
    ) -> SqlFootprint:
        """Refuse what the actor may not run here; else the footprint it was judged on."""
        if not sql.strip():
            raise ValidationError("the statement is empty", field="sql")
        return self._judge(actor, workspace, [sql], connection)[0][0]

    def _judge(
        self,
        actor: Actor,
        workspace: str,
        texts: list[str],
        connection: str | None,
        where: list[ScriptStatement] | None = None,
    ) -> tuple[list[SqlFootprint], _Scope]:
        """Every text judged before any runs (fail closed: one refusal refuses them all):
        the footprint's rules for each, `sql.read` for all, `sql.write` if any writes."""
        if sum(len(t) for t in texts) > MAX_SQL_LENGTH:
            raise ValidationError(f"longer than {MAX_SQL_LENGTH} characters", field="sql")
        scope = self._scope(actor, workspace, connection)
        found = []
        for i, text in enumerate(texts):
            fp = footprint(text, scope.dialect)
            try:
                check_footprint(fp, scope.policy)
                if not fp.read_only:
                    check_role(actor, "sql.write", scope.role, workspace)
            except SadeemError as exc:
                raise located(exc, where[i] if where else None) from None
            found.append(fp)
        return found, scope

    def _scope(self, actor: Actor, workspace: str, connection: str | None) -> _Scope:
        """Everything a statement's check needs, in one read of the metadata DB (a query's
        overhead is mostly round trips): refused unless the actor may read SQL here."""
        with self.reading() as s:
            ws_row = get_workspace(s, workspace)
            role = role_in(s, get_user(s, actor), ws_row)
            check_role(actor, "sql.read", role, workspace)
            assert role is not None  # check_role refuses a non-member
            ws = view(s, ws_row)
            return _Scope(
                ws,
                role,
                self._dialect(s, ws, connection),
                self._policy(s, ws, admin=role == ADMIN),
            )

    def script(
        self,
        actor: Actor,
        workspace: str,
        sql: str,
        *,
        connection: str | None = None,
        on_progress: Callable[[QueryProgress], None] | None = None,
        client_tag: str = "interactive",
    ) -> Script:
        """`sql` split into statements (engine.sql_analysis.statement_spans), every one of
        them checked before the first runs; iterate the Script to run them in turn."""
        statements = script_statements(sql)
        if not statements:
            raise ValidationError("the statement is empty", field="sql")
        try:
            fps, scope = self._judge(
                actor, workspace, [st.sql for st in statements], connection, statements
            )
        except QueryError as exc:  # a syntax error the engine's own parser found
            ws = self.workspaces.get(actor, workspace)
            name = connection or ws.sql_connection or "embedded"
            record = {"username": actor.username, "workspace": workspace, "sql": sql}
            self._record_failed({**record, "connection": name}, exc)
            raise
        return Script(
            self,
            actor,
            scope,
            list(zip(statements, fps, strict=True)),
            connection=connection,
            on_progress=on_progress,
            client_tag=client_tag,
        )

    def dialect(self, ws: WorkspaceView, connection: str | None = None) -> str:
        """The dialect of the engine that runs SQL for `ws` on `connection` (or its own)."""
        with self.reading() as s:
            return self._dialect(s, ws, connection)

    def _dialect(self, s: Session, ws: WorkspaceView, connection: str | None) -> str:
        name = connection or ws.sql_connection
        conn_type: str | None = factory.EMBEDDED_SQL
        if name:
            conn_type = s.scalar(select(Connection.type).where(Connection.name == name))
        # A name that is not a SQL connection fails later, when its backend is asked for;
        # until then it is parsed as the embedded engine's SQL, as before.
        kind = kinds.find(conn_type or "")
        if kind is None or kind.dialect is None:
            kind = factory.kind_with_role(factory.EMBEDDED_SQL, "sql")
        return str(kind.dialect)

    def policy(self, ws: WorkspaceView, *, admin: bool) -> Policy:
        """The inputs of the SQL rules for `ws`: its namespaces, every workspace's, and the
        storage prefixes whose files its SQL may (and may not) read."""
        with self.reading() as s:
            return self._policy(s, ws, admin=admin)

    def _policy(self, s: Session, ws: WorkspaceView, *, admin: bool) -> Policy:
        return self.policy_from(ws, policy_rows(s), admin=admin)

    def policy_from(
        self, ws: WorkspaceView, rows: Sequence[tuple[Any, ...]], *, admin: bool
    ) -> Policy:
        """policy() from rows already read: (name, layers, bucket, prefix, storage
        connection id) of every workspace (the runner reads them with the run's plan)."""
        own_store = next((row[4] for row in rows if row[0] == ws.name), None)
        owners = {f"{name}_{layer}": name for name, layers, *_ in rows for layer in layers}
        root = self._prefix_uri(ws.bucket, ws.prefix, ws.storage_connection)
        # Another workspace on the same store may sit under this one's prefix: its files
        # stay out of reach even though they lie under this root.
        foreign = tuple(
            self._prefix_uri(bucket, prefix, ws.storage_connection)
            for name, _layers, bucket, prefix, store in rows
            if name != ws.name and store == own_store
        )
        return Policy(
            ws.name,
            frozenset(ws.namespaces),
            owners,
            roots=(root,),
            foreign_roots=tuple(f for f in foreign if f != root),
            admin=admin,
        )

    def _prefix_uri(self, bucket: str, prefix: str, storage_connection: str | None) -> str:
        # The same URI Lakehouse.workspace_uri gives, without building an S3 client: the
        # embedded store is a directory tree, every configured store is S3.
        if storage_connection:
            return f"s3://{bucket}/{prefix.strip('/')}" if prefix else f"s3://{bucket}"

        return factory.local_store(self.deps.settings.data_dir).uri(bucket, prefix)

    def version_author(self, run_id: int) -> str | None:
        """Who wrote the job version a run runs (whose SQL the runner holds to the rules)."""
        from engine.models import JobVersion, Run

        with self.unit() as s:
            return s.scalar(
                select(JobVersion.created_by)
                .join(Run, Run.job_version_id == JobVersion.id)
                .where(Run.id == run_id)
            )

    def is_admin(self, username: str) -> bool:
        """Whether `username` is a platform admin (the author of a job's SQL, say)."""
        with self.unit() as s:
            role = s.scalar(select(User.platform_role).where(User.username == username))
        return role == ADMIN

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
        """Start `sql` on the workspace's SQL connection (or `connection`), as one query
        (a script's statements run in it in turn; its result is the last one's)."""
        record = {"username": actor.username, "workspace": workspace, "sql": sql}
        if not sql.strip():
            raise ValidationError("the statement is empty", field="sql")
        try:
            [fp], scope = self._judge(actor, workspace, [sql], connection)
        except QueryError as exc:  # a syntax error the engine's own parser found
            ws = self.workspaces.get(actor, workspace)
            name = connection or ws.sql_connection or "embedded"
            self._record_failed({**record, "connection": name}, exc)
            raise
        return self._start(
            actor,
            scope,
            sql,
            fp,
            connection=connection,
            on_progress=on_progress,
            client_tag=client_tag,
        )

    def _start(
        self,
        actor: Actor,
        scope: _Scope,
        sql: str,
        fp: SqlFootprint,
        *,
        connection: str | None,
        on_progress: Callable[[QueryProgress], None] | None,
        client_tag: str,
        where: ScriptStatement | None = None,
    ) -> TrackedQuery:
        """Send checked `sql` to the engine; its audit event if it writes."""
        ws = scope.ws
        workspace = ws.name
        record = {"username": actor.username, "workspace": workspace, "sql": sql}
        conn_name, backend = self.lakehouse.sql(actor, ws, connection)
        ctx = QueryContext(
            user=actor.username,
            schema=ws.namespace(ws.layers[0]) if ws.layers else None,
            client_tags=(client_tag,),
        )
        record["connection"] = conn_name
        try:
            handle = backend.execute(sql, ctx, on_progress)
        except QueryError as exc:
            self._record_failed(record, exc)
            raise located(exc, where) from None
        if not fp.read_only:
            with self.unit() as s:
                audit.record(
                    s,
                    actor,
                    "sql.write",
                    "sql",
                    conn_name,
                    workspace=workspace,
                    details={"sql": sql[:2000], **fp.audit()},
                )
        return TrackedQuery(self, handle, record, where)

    def warm(self, actor: Actor, workspace: str) -> None:
        """Load what a first query needs (the SQL parser; for the embedded engine, DuckDB
        and the catalog's tables) so the operator's first query does not pay for it.
        Sends nothing to a remote engine and records nothing."""
        self.check(actor, workspace, "SELECT 1")
        ws = self.workspaces.get(actor, workspace)
        _name, backend = self.lakehouse.sql(actor, ws)  # the pool's: kept open for the query
        if isinstance(backend, Warmable):
            backend.warm(QueryContext(user=actor.username))

    def history(
        self,
        actor: Actor,
        *,
        workspace: str | None = None,
        search: str | None = None,
        limit: int = 100,
    ) -> list[HistoryView]:
        """The actor's own statements, newest first, optionally filtered by text."""
        self.flush_history()  # this process's own statements are in the list they ask for
        with self.reading() as s:
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

    def _record_failed(self, record: dict, exc: Exception) -> None:
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

    def _record_history(self, values: dict) -> None:
        """Hand a history row to the history thread (see __init__)."""
        with self._history_lock:
            if self._history_writer is None:
                self._history_writer = ThreadPoolExecutor(1, thread_name_prefix="sadeem-history")
            self._history_pending = self._history_writer.submit(self._write_history, values)

    def flush_history(self) -> None:
        """Wait until every history row handed over so far is written (or given up)."""
        with self._history_lock:
            pending = self._history_pending
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Write the history rows still pending, then stop the history thread."""
        with self._history_lock:
            writer, self._history_writer = self._history_writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _write_history(self, values: dict) -> None:
        """Best-effort: history is a convenience, so a full disk or a busy database must not
        fail the statement it records (a SELECT on a full disk still returns its rows)."""
        try:
            with self.unit() as s:
                s.add(QueryHistory(**values))
        except Exception as exc:  # the DB driver's error classes vary by dialect
            log.warning("query history not recorded: %s", exc.__class__.__name__)
