"""Crash safety: runs whose engine is gone are settled against their backend.

Work on a backend that outlives the engine (a Reattachable one: a Trino query, a Spark
application) is re-adopted by its external id and watched to its end; work that finished is
recorded with its real outcome; in-process work (DuckDB) died with its engine and is marked
failed (lost), after which the retry policy applies. No run stays `running` forever.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from engine import job_kinds
from engine.backends.base import BATCH_ENDED, Reattachable
from engine.errors import SadeemError
from engine.run_states import RunState

log = logging.getLogger("sadeem.reconcile")


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
            if run_id in self.watching or not self.services.queue.adopt(
                run_id, self.owner, previous
            ):
                continue  # already ours, or another engine adopted it first
            handled.append(run_id)
            try:
                self.settle(run_id)
            except SadeemError as exc:
                self._finish(run_id, RunState.FAILED, f"lost: {exc}")
        return handled

    def settle(self, run_id: int) -> None:
        plan = self.services.queue.plan(run_id)
        external, cancelling = plan.external_id, plan.state == RunState.CANCELLING
        self.services.queue.append_log(
            run_id, f"engine {self.owner} adopted this run after its engine stopped\n"
        )
        backend = self._backend(plan) if external else None
        if external and isinstance(backend, Reattachable):
            # Asked as the user the work runs as (sql_executor): their own query to see.
            user = self.services.sql.version_author(run_id)
            self._follow(
                run_id,
                lambda: backend.external_state(external, user),
                cancelling,
                lambda: backend.cancel_external(external, user),
            )
            return
        self._finish(
            run_id,
            RunState.FAILED,
            "lost: the engine running it stopped and the work ran inside that engine",
        )

    def _backend(self, plan: Any) -> Any:
        """The backend the run's work went to: of the connection role its kind declares
        (engine.job_kinds), never a check of which kind it is. Whether the work can be found
        again is that backend's to say (Reattachable)."""
        conn_name = plan.connection or plan.workspace.sql_connection
        kind = job_kinds.find(plan.job_type)
        if kind is not None and kind.connection_role == "batch":
            from engine.runner.spark_executor import batch_backend_for

            return batch_backend_for(self.services, conn_name)
        _, backend = self.services.lakehouse.sql(None, plan.workspace, conn_name)
        return backend

    def _follow(self, run_id: int, probe: Any, cancelling: bool, cancel: Any) -> None:
        """Record the backend's outcome now, or watch until it has one."""
        state = probe()
        if state in BATCH_ENDED:
            self._finish(
                run_id,
                state,
                None if state == RunState.SUCCEEDED else f"{state} while its engine was down",
            )
            return
        if state is None:
            self._finish(run_id, RunState.FAILED, "lost: the backend no longer knows this work")
            return
        if cancelling:
            cancel()
        self.watching.add(run_id)

        def watch() -> None:
            try:
                while True:
                    current = probe()
                    if current != RunState.RUNNING:
                        outcome = current or RunState.FAILED
                        self._finish(
                            run_id,
                            outcome,
                            None
                            if outcome == RunState.SUCCEEDED
                            else f"{outcome} (re-adopted run)",
                        )
                        return
                    if self.services.queue.state_of(run_id) == RunState.CANCELLING:
                        cancel()
                    time.sleep(1)
            except SadeemError as exc:
                self._finish(run_id, RunState.FAILED, f"lost: {exc}")
            finally:
                self.watching.discard(run_id)

        threading.Thread(target=watch, daemon=True, name=f"adopted-{run_id}").start()

    def _finish(self, run_id: int, state: str, error: str | None) -> None:
        self.services.queue.append_log(
            run_id, f"recorded {state}" + (f": {error}" if error else "") + "\n"
        )
        self.services.queue.finish(run_id, state, error=error, owner=self.owner)
