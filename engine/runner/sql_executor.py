"""SQL jobs: render the template, run statement by statement on Trino or DuckDB, save the
query id the moment the engine accepts each statement, and stop the query on cancel or
timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.backends.base import QueryContext, QueryProgress, Reattachable
from engine.errors import QueryCancelled, SadeemError
from engine.parameters import declared_types
from engine.run_states import RunState
from engine.runner.context import Outcome, RunContext
from engine.runner.ticker import TICKER
from engine.sql_analysis import check, footprint, split_text
from engine.templating import render_sql
from engine.text import one_line

# A statement's text in its log line, on one line; longer ones end in `…[cut, N chars]`.
STATEMENT_CHARS = 200
# While a statement runs, a progress line this often.
PROGRESS_EVERY_S = 2.0


def statements_for(rc: RunContext) -> list[str]:
    d = rc.definition
    params = {**d.get("params", {}), **rc.parameters}
    values = {"workspace": rc.workspace.name, "ds": rc.logical_date, "run_id": rc.run_id}
    types = declared_types(d)
    # Split the author's text first, then render each statement: a value's `;` or quote
    # can never move a statement boundary (values render as literals; engine.templating).
    statements = [render_sql(stmt, values, params, types) for stmt in split_text(d["sql"])]
    target = d.get("target_table")
    if target and statements:
        last = statements[-1]
        if d.get("mode") == "overwrite":
            statements[-1] = f"CREATE OR REPLACE TABLE {target} AS {last}"
        else:
            statements[-1] = f"INSERT INTO {target} {last}"
    return statements


def check_statements(services: Any, rc: RunContext, statements: list[str]) -> None:
    """Refuse, before the first statement runs, what the SQL service would refuse the
    author of this job version (engine.sql_analysis.check: the statement allow-list, the
    parse rule, the file sandbox and the separation rule), with the same message."""
    author = rc.author
    admin = bool(author) and rc.author_admin
    if rc.workspaces:  # read with the run's plan: no second read of the same rows
        dialect = "trino" if rc.connection_type == "trino" else "duckdb"
        policy = services.sql.policy_from(rc.workspace, rc.workspaces, admin=admin)
    else:
        dialect = services.sql.dialect(rc.workspace, rc.connection)
        policy = services.sql.policy(rc.workspace, admin=admin)
    for i, stmt in enumerate(statements, start=1):
        try:
            check(footprint(stmt, dialect), policy)
        except SadeemError as exc:
            raise type(exc)(f"statement {i} of the job: {exc}") from None


def run_sql(services: Any, rc: RunContext, owners: dict[str, str]) -> Outcome:
    statements = statements_for(rc)
    if not statements:
        return Outcome(RunState.FAILED, "the job's SQL has no statement")
    check_statements(services, rc, statements)  # `owners` is what the policy reads too
    conn_name, backend = services.lakehouse.sql(None, rc.workspace, rc.connection)
    # The engine runs the statements as the author of the job version: the user whose
    # rights the check above applied, whoever triggered the run (a schedule is "scheduler",
    # no one Trino knows). Trino's own access control and resource groups see that user.
    as_user = rc.author or rc.created_by
    rc.log(f"running {len(statements)} statement(s) on {conn_name} as {as_user}")
    query_ids: list[str] = []  # filled as the backend accepts each statement
    # Work inside this process (an embedded DuckDB) ends with it: its id is written with
    # the outcome, a transaction fewer per run, whatever the outcome (the statement a run
    # failed or was stopped at is the one whose id is looked for).
    reattachable = isinstance(backend, Reattachable)
    try:
        outcome = _run_statements(rc, backend, statements, as_user, conn_name, query_ids)
    except SadeemError as exc:
        if reattachable or not query_ids:
            raise
        return Outcome(RunState.FAILED, str(exc), external_id=query_ids[-1])
    if not reattachable and query_ids:
        outcome.external_id = query_ids[-1]
    return outcome


def _run_statements(
    rc: RunContext,
    backend: Any,
    statements: list[str],
    as_user: str,
    conn_name: str,
    query_ids: list[str],
) -> Outcome:
    total_rows = 0
    reattachable = isinstance(backend, Reattachable)
    for i, stmt in enumerate(statements, start=1):
        rc.log(f"[{i}/{len(statements)}] {one_line(stmt, STATEMENT_CHARS)}")
        ctx = QueryContext(
            user=as_user,
            schema=rc.workspace.namespace(rc.workspace.layers[0]) if rc.workspace.layers else None,
            client_tags=("batch",),
        )
        handle = backend.execute(stmt, ctx, None)  # progress: polled by _Watch
        if handle.query_id:
            query_ids.append(handle.query_id)
            if reattachable:  # another engine finds it by this id after a crash: save now
                links = {"trino_ui": handle.ui_link} if handle.ui_link else {}
                rc.set_external(handle.query_id, links)
        watch = _Watch(rc, handle)
        started = time.monotonic()
        rows = 0
        try:
            for batch in handle.batches():
                rows += batch.num_rows
        except QueryCancelled:
            reason = watch.reason or "cancel"
            rc.log(f"    stopped ({reason})")
            if reason == "timeout":
                return Outcome(
                    RunState.TIMED_OUT,
                    f"timed out after {rc.timeout_s:.0f}s",
                    {"rows": total_rows, "query_ids": query_ids},
                )
            return Outcome(
                RunState.CANCELLED, "cancelled", {"rows": total_rows, "query_ids": query_ids}
            )
        finally:
            watch.close()
        total_rows += rows
        rc.log(f"    done: {rows} row(s) in {time.monotonic() - started:.2f}s")
    return Outcome(
        RunState.SUCCEEDED,
        None,
        {
            "statements": len(statements),
            "rows": total_rows,
            "connection": conn_name,
            "query_ids": query_ids,
        },
    )


def progress_line(p: QueryProgress) -> str:
    """`    RUNNING 42% rows=1,000 bytes=8,000 12.0s`: a statement's progress in the log."""
    pct = f"{p.percent:.0f}%" if p.percent is not None else "?%"
    return f"    {p.state} {pct} rows={p.rows:,} bytes={p.bytes:,} {p.elapsed_s:.1f}s"


class _Watch:
    """A running statement's chore on the process's ticker: its progress in the log every
    PROGRESS_EVERY_S (the engine's own figures: DuckDB's query_progress(), Trino's stats; a
    long DuckDB statement yields no batch until it is done, so nothing else would report
    it), and a cancel on the server when the run must stop."""

    def __init__(self, rc: RunContext, handle: Any) -> None:
        self.rc = rc
        self.handle = handle
        self.reason: str | None = None
        self.done = False
        # close() takes it: once the statement ended, no line of this watch is logged (it
        # would follow `finished: ...`, after the outcome's transaction).
        self._lock = threading.Lock()
        now = time.monotonic()
        self._next_report = now + PROGRESS_EVERY_S
        self._next_check = now
        TICKER.add(self, self._tick)

    def close(self) -> None:
        with self._lock:
            self.done = True
        TICKER.discard(self)

    def _say(self, line: str) -> None:
        with self._lock:
            if not self.done:
                self.rc.log(line)

    def _tick(self, now: float) -> bool:
        if self.done:
            return False
        if now >= self._next_report:
            # From now: a watch whose beats came late (its ticker held up) writes one
            # line, not one per missed beat in a burst.
            self._next_report += PROGRESS_EVERY_S
            if self._next_report <= now:
                self._next_report = now + PROGRESS_EVERY_S
            try:
                progress = self.handle.progress()
            except Exception:  # progress is best effort; it never fails the run
                progress = None
            if progress is not None:
                self._say(progress_line(progress))
        if now >= self._next_check:
            self.reason = self.reason or self.rc.stop_reason()
            if self.reason:
                # Repeated until the statement ends: a cancel that lands just before the
                # engine starts executing can be lost (DuckDB resets its interrupt flag).
                try:
                    self.handle.cancel()
                except SadeemError as exc:
                    self._say(f"    cancel failed: {exc}")
                self._next_check = now + 0.5
            else:
                self._next_check = now + 0.25
        return True
