"""SQL jobs: render the template, run statement by statement on Trino or DuckDB, save the
query id the moment the engine accepts each statement, and stop the query on cancel or
timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.backends.base import QueryContext, QueryProgress
from engine.errors import QueryCancelled, SadeemError
from engine.runner.context import Outcome, RunContext
from engine.sql_analysis import footprint, split_text
from engine.templating import render


def statements_for(rc: RunContext) -> list[str]:
    d = rc.definition
    params = {**d.get("params", {}), **rc.parameters}
    values = {"workspace": rc.workspace.name, "ds": rc.logical_date, "run_id": rc.run_id}
    statements = split_text(render(d["sql"], values, params))
    target = d.get("target_table")
    if target and statements:
        last = statements[-1]
        if d.get("mode") == "overwrite":
            statements[-1] = f"CREATE OR REPLACE TABLE {target} AS {last}"
        else:
            statements[-1] = f"INSERT INTO {target} {last}"
    return statements


def check_namespaces(rc: RunContext, statements: list[str], owners: dict[str, str]) -> None:
    """A job may only touch its own workspace's namespaces (the separation rule)."""
    for stmt in statements:
        try:
            fp = footprint(stmt)
        except SadeemError:
            continue  # the engine will report the syntax error with its position
        for ns in sorted(fp.namespaces):
            owner = owners.get(ns)
            if owner is not None and owner != rc.workspace.name:
                raise SadeemError(
                    f"the job touches {ns}, which belongs to workspace "
                    f"{owner!r}; jobs may only use their own namespaces"
                )


def run_sql(services: Any, rc: RunContext, owners: dict[str, str]) -> Outcome:
    statements = statements_for(rc)
    if not statements:
        return Outcome("failed", "the job's SQL has no statement")
    check_namespaces(rc, statements, owners)
    conn_name, backend = services.lakehouse.sql(None, rc.workspace, rc.connection)
    rc.log(f"running {len(statements)} statement(s) on {conn_name} as {rc.created_by}")
    total_rows = 0
    query_ids: list[str] = []
    for i, stmt in enumerate(statements, start=1):
        first_line = stmt.strip().splitlines()[0][:120]
        rc.log(f"[{i}/{len(statements)}] {first_line}")
        last_report = [0.0]

        def progress(p: QueryProgress, last: list[float] = last_report) -> None:
            if time.monotonic() - last[0] >= 2:
                last[0] = time.monotonic()
                pct = f"{p.percent:.0f}%" if p.percent is not None else "?"
                rc.log(f"    {p.state} {pct} rows={p.rows} bytes={p.bytes}")

        ctx = QueryContext(
            user=rc.created_by,
            schema=rc.workspace.namespace(rc.workspace.layers[0]) if rc.workspace.layers else None,
            client_tags=("batch",),
        )
        handle = backend.execute(stmt, ctx, progress)
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
                    "timed_out",
                    f"timed out after {rc.timeout_s:.0f}s",
                    {"rows": total_rows, "query_ids": query_ids},
                )
            return Outcome("cancelled", "cancelled", {"rows": total_rows, "query_ids": query_ids})
        finally:
            stop["done"] = True
        total_rows += rows
        rc.log(f"    done: {rows} row(s) in {time.monotonic() - started:.2f}s")
    return Outcome(
        "succeeded",
        None,
        {
            "statements": len(statements),
            "rows": total_rows,
            "connection": conn_name,
            "query_ids": query_ids,
        },
    )


def _watch(rc: RunContext, handle: Any) -> dict[str, Any]:
    """A thread that cancels the query on the server when the run must stop."""
    state: dict[str, Any] = {"done": False, "reason": None}

    def loop() -> None:
        while not state["done"]:
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
