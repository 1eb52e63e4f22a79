"""SQL jobs: render the template, run statement by statement on Trino or DuckDB, save the
query id the moment the engine accepts each statement, and stop the query on cancel or
timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.backends.base import QueryContext, QueryProgress
from engine.errors import QueryCancelled, SadeemError
from engine.parameters import declared_types
from engine.run_states import RunState
from engine.runner.context import Outcome, RunContext
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
    total_rows = 0
    query_ids: list[str] = []
    for i, stmt in enumerate(statements, start=1):
        rc.log(f"[{i}/{len(statements)}] {one_line(stmt, STATEMENT_CHARS)}")
        ctx = QueryContext(
            user=as_user,
            schema=rc.workspace.namespace(rc.workspace.layers[0]) if rc.workspace.layers else None,
            client_tags=("batch",),
        )
        handle = backend.execute(stmt, ctx, None)  # progress: polled by _watch
        if handle.query_id:
            query_ids.append(handle.query_id)
            links = {"trino_ui": handle.ui_link} if handle.ui_link else {}
            rc.set_external(handle.query_id, links)
        stop = _watch(rc, handle)
        started = time.monotonic()
        rows = 0
        try:
            for batch in handle.batches():
                rows += batch.num_rows
        except QueryCancelled:
            reason = stop.get("reason") or "cancel"
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
            stop["done"] = True
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


def _watch(rc: RunContext, handle: Any) -> dict[str, Any]:
    """A thread that logs the statement's progress every PROGRESS_EVERY_S while it runs
    (the engine's own figures: DuckDB's query_progress(), Trino's stats; a long DuckDB
    statement yields no batch until it is done, so nothing else would report it) and
    cancels the query on the server when the run must stop."""
    state: dict[str, Any] = {"done": False, "reason": None}
    started = time.monotonic()

    def report() -> None:
        try:
            p = handle.progress()
        except Exception:  # progress is best effort; it never fails the run
            return
        if not state["done"]:
            rc.log(progress_line(p))

    def loop() -> None:
        next_report = started + PROGRESS_EVERY_S
        while not state["done"]:
            if time.monotonic() >= next_report:
                next_report += PROGRESS_EVERY_S
                report()
            reason = state["reason"] or rc.stop_reason()
            if reason:
                # Repeat until the statement ends: a cancel that lands just before the
                # engine starts executing can be lost (DuckDB resets its interrupt flag).
                state["reason"] = reason
                try:
                    handle.cancel()
                except SadeemError as exc:
                    rc.log(f"    cancel failed: {exc}")
                time.sleep(0.5)
                continue
            time.sleep(0.25)

    threading.Thread(target=loop, daemon=True, name=f"watch-run-{rc.run_id}").start()
    return state
