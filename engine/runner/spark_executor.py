"""Spark jobs: submit on the Spark Operator or locally, save the application's id the
moment it is accepted, stream its log into the run, and stop it on cancel or timeout."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from engine.backends import factory
from engine.backends.base import BATCH_ENDED
from engine.backends.spark_operator import spec_from_job
from engine.errors import SadeemError
from engine.parameters import declared_types
from engine.run_states import RunState
from engine.runner.context import Outcome, RunContext
from engine.templating import render


def batch_backend_for(services: Any, connection: str | None) -> Any:
    if not connection:
        raise SadeemError("a spark job needs a spark_operator or spark_local connection")
    conn = services.connections.resolve(None, connection)
    return factory.batch_backend(conn.type, conn.config, services.settings.data_dir)


def app_name(rc: RunContext) -> str:
    """A DNS-1123 name unique per run: `<workspace>-<job>-<run id>`."""
    base = re.sub(r"[^a-z0-9-]", "-", f"{rc.workspace.name}-{rc.job}".lower()).strip("-")
    return f"{base[:50].rstrip('-')}-{rc.run_id}"


def run_spark(services: Any, rc: RunContext, owners: dict[str, str] | None = None) -> Outcome:
    """The Spark kind's executor (engine.job_kinds.spark); `owners`, the SQL policy's
    input every executor is given, is not read: the application sends no SQL we check."""
    backend = batch_backend_for(services, rc.connection)
    values = {"workspace": rc.workspace.name, "ds": rc.logical_date, "run_id": rc.run_id}
    params = {**rc.definition.get("params", {}), **rc.parameters}
    types = declared_types(rc.definition)
    # Each argument stays one argv entry (no shell), its values checked against their types.
    args = [render(str(a), values, params, types) for a in rc.definition.get("arguments", [])]
    spec = spec_from_job(
        app_name(rc),
        rc.definition,
        arguments=args,
        labels={"sadeem.io/run-id": str(rc.run_id), "sadeem.io/workspace": rc.workspace.name},
    )
    status = backend.submit(spec)
    links = {"spark_ui": status.ui_link} if status.ui_link else {}
    rc.set_external(status.external_id, links)
    rc.log(f"submitted {status.external_id} on {rc.connection}")
    threading.Thread(
        target=_pump_logs,
        args=(backend, status.external_id, rc),
        daemon=True,
        name=f"spark-log-{rc.run_id}",
    ).start()
    seen_ui = bool(status.ui_link)
    while True:
        reason = rc.stop_reason()
        if reason:
            backend.cancel(status.external_id)
            rc.log(f"stopped ({reason})")
            if reason == "timeout":
                return Outcome(RunState.TIMED_OUT, f"timed out after {rc.timeout_s:.0f}s")
            return Outcome(RunState.CANCELLED, "cancelled")
        status = backend.status(status.external_id)
        if status.ui_link and not seen_ui:
            seen_ui = True
            rc.set_external(status.external_id, {"spark_ui": status.ui_link})
        if status.state in BATCH_ENDED:
            time.sleep(0.5)  # let the log pump catch the last lines
            return Outcome(
                status.state,
                status.message if status.state != RunState.SUCCEEDED else None,
                {"application": status.external_id, "backend_state": status.backend_state},
            )
        if status.state == "unknown":
            return Outcome(RunState.FAILED, status.message or "lost: the application disappeared")
        time.sleep(1)


def _pump_logs(backend: Any, external_id: str, rc: RunContext) -> None:
    try:
        for line in backend.logs(external_id):
            rc.log(line)
    except SadeemError as exc:
        rc.log(f"log stream ended: {exc}")
