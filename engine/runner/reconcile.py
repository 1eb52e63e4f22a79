"""Crash safety: runs whose engine is gone are settled against their backend.

A Trino query or Spark application that still runs is re-adopted by its external id and
watched to its end; one that finished is recorded with its real outcome; in-process work
(DuckDB) died with its engine and is marked failed (lost), after which the retry policy
applies. No run stays `running` forever.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from engine.errors import SadeemError
from engine.models import Connection, Job, Run, Workspace
from engine.services.workspaces import view as workspace_view

log = logging.getLogger("sadeem.reconcile")
TRINO_DONE = {"FINISHED": "succeeded", "FAILED": "failed"}


class Reconciler:
    def __init__(self, services: Any, owner: str, stale_after_s: float) -> None:
        self.services = services
        self.owner = owner
        self.stale_after_s = stale_after_s
        self.watching: set[int] = set()

    def sweep(self) -> list[int]:
        """Settle every orphaned run once; returns the ids this engine took care of."""
        handled = []
        for run_id, previous in self.services.engine_state.orphaned_runs(self.stale_after_s):
            if run_id in self.watching or not self.services.runs.adopt(
                run_id, self.owner, previous
            ):
                continue  # already ours, or another engine adopted it first
            handled.append(run_id)
            try:
                self.settle(run_id)
            except SadeemError as exc:
                self._finish(run_id, "failed", f"lost: {exc}")
        return handled

    def settle(self, run_id: int) -> None:
        with self.services.db.session() as s:
            run = s.get(Run, run_id)
            job = s.get(Job, run.job_id)
            ws = workspace_view(s, s.get(Workspace, run.workspace_id))
            conn = s.get(Connection, job.connection_id) if job.connection_id else None
            conn_name = conn.name if conn else ws.sql_connection
            conn_type = (
                conn.type
                if conn
                else s.query(Connection.type).filter(Connection.name == conn_name).scalar()
                if conn_name
                else "duckdb"
            )
            external, cancelling = run.external_id, run.state == "cancelling"
        self.services.runs.append_log(
            run_id, f"engine {self.owner} adopted this run after its engine stopped\n"
        )
        if job.type == "sql" and conn_type == "trino" and external:
            _, backend = self.services.lakehouse.sql(None, ws, conn_name)
            self._follow(
                run_id,
                lambda: _trino_state(backend, external),
                cancelling,
                lambda: backend.cancel_query(external),
            )
            return
        if job.type == "spark" and external:
            from engine.runner.spark_executor import batch_backend_for

            backend = batch_backend_for(self.services, conn_name)
            self._follow(
                run_id,
                lambda: _batch_state(backend, external),
                cancelling,
                lambda: backend.cancel(external),
            )
            return
        self._finish(
            run_id,
            "failed",
            "lost: the engine running it stopped and the work ran inside that engine",
        )

    def _follow(self, run_id: int, probe: Any, cancelling: bool, cancel: Any) -> None:
        """Record the backend's outcome now, or watch until it has one."""
        state = probe()
        if state in ("succeeded", "failed", "cancelled"):
            self._finish(
                run_id,
                state,
                None if state == "succeeded" else f"{state} while its engine was down",
            )
            return
        if state is None:
            self._finish(run_id, "failed", "lost: the backend no longer knows this work")
            return
        if cancelling:
            cancel()
        self.watching.add(run_id)

        def watch() -> None:
            try:
                while True:
                    current = probe()
                    if current != "running":
                        outcome = current or "failed"
                        self._finish(
                            run_id,
                            outcome,
                            None if outcome == "succeeded" else f"{outcome} (re-adopted run)",
                        )
                        return
                    if self.services.runs.state_of(run_id) == "cancelling":
                        cancel()
                    time.sleep(1)
            except SadeemError as exc:
                self._finish(run_id, "failed", f"lost: {exc}")
            finally:
                self.watching.discard(run_id)

        threading.Thread(target=watch, daemon=True, name=f"adopted-{run_id}").start()

    def _finish(self, run_id: int, state: str, error: str | None) -> None:
        self.services.runs.append_log(
            run_id, f"recorded {state}" + (f": {error}" if error else "") + "\n"
        )
        self.services.runs.finish(run_id, state, error=error, owner=self.owner)


def _trino_state(backend: Any, query_id: str) -> str | None:
    state = backend.query_state(query_id)
    if state is None:
        return None
    return TRINO_DONE.get(state, "running")


def _batch_state(backend: Any, external_id: str) -> str | None:
    status = backend.status(external_id)
    if status.state == "unknown":
        return None
    return "running" if status.state == "queued" else status.state
