"""Claims queued runs and executes them in a bounded pool."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from engine.errors import SadeemError
from engine.models import Connection, Job, JobVersion, Run, Workspace
from engine.runner.context import LogWriter, Outcome, RunContext
from engine.services.workspaces import view as workspace_view

log = logging.getLogger("sadeem.runner")


class Dispatcher:
    def __init__(self, services: Any, owner: str, max_workers: int, workspace_limit: int):
        self.services = services
        self.owner = owner
        self.max_workers = max_workers
        self.workspace_limit = workspace_limit
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="run")
        self.active: dict[int, Future] = {}
        self.lock = threading.Lock()
        self.claiming = True

    def tick(self) -> list[int]:
        """Claim as many runs as there are free workers; returns the run ids started."""
        if not self.claiming:
            return []
        with self.lock:
            self.active = {k: f for k, f in self.active.items() if not f.done()}
            slots = self.max_workers - len(self.active)
        if slots <= 0:
            return []
        ids = self.services.runs.claim(self.owner, slots, self.workspace_limit)
        for run_id in ids:
            log.info("claimed run", extra={"run_id": run_id})
            with self.lock:
                self.active[run_id] = self.pool.submit(self.execute, run_id)
        return ids

    def context(self, run_id: int) -> tuple[RunContext, dict[str, str]]:
        runs = self.services.runs
        with self.services.db.session() as s:
            run = s.get(Run, run_id)
            job = s.get(Job, run.job_id)
            version = s.get(JobVersion, run.job_version_id)
            ws = workspace_view(s, s.get(Workspace, run.workspace_id))
            conn = s.get(Connection, job.connection_id) if job.connection_id else None
            owners = {
                f"{name}_{layer}": name
                for name, layers in s.execute(select(Workspace.name, Workspace.layers))
                for layer in layers
            }
            rc = RunContext(
                run_id=run.id,
                workspace=ws,
                job=job.name,
                job_type=job.type,
                definition=dict(version.definition),
                connection=conn.name if conn else None,
                parameters=dict(run.parameters),
                logical_date=run.logical_date or "",
                timeout_s=job.timeout_seconds,
                created_by=run.created_by,
                started=time.monotonic(),
                log=LogWriter(lambda text, rid=run.id: runs.append_log(rid, text)),
                set_external=lambda ext, links, rid=run.id: runs.set_external(rid, ext, links),
                cancel_requested=_cancel_poll(runs, run.id),
            )
        return rc, owners

    def execute(self, run_id: int) -> None:
        rc: RunContext | None = None
        try:
            rc, owners = self.context(run_id)
            rc.log(f"run {run_id} of {rc.job} ({rc.job_type} job) started on {self.owner}")
            outcome = self.run(rc, owners)
        except SadeemError as exc:
            outcome = Outcome("failed", str(exc))
        except Exception as exc:  # an executor bug must still end the run, never hang it
            log.exception("executor crashed", extra={"run_id": run_id})
            outcome = Outcome("failed", f"internal error ({exc.__class__.__name__})")
        if rc is not None:
            rc.log(f"finished: {outcome.state}" + (f": {outcome.error}" if outcome.error else ""))
            rc.log.flush()
        self.services.runs.finish(
            run_id, outcome.state, error=outcome.error, result=outcome.result, owner=self.owner
        )

    def run(self, rc: RunContext, owners: dict[str, str]) -> Outcome:
        if rc.job_type == "sql":
            from engine.runner.sql_executor import run_sql

            return run_sql(self.services, rc, owners)
        from engine.runner.spark_executor import run_spark

        return run_spark(self.services, rc)

    def stop(self, grace_s: float) -> list[int]:
        """Stop claiming; wait up to `grace_s` for running work. Returns unfinished ids."""
        self.claiming = False
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            with self.lock:
                pending = [k for k, f in self.active.items() if not f.done()]
            if not pending:
                break
            time.sleep(0.1)
        with self.lock:
            pending = [k for k, f in self.active.items() if not f.done()]
        self.pool.shutdown(wait=False, cancel_futures=True)
        return pending


def _cancel_poll(runs: Any, run_id: int, every_s: float = 1.0) -> Any:
    """A cheap `was cancel asked?` that reads the run's state at most once a second."""
    last = [0.0, False]

    def asked() -> bool:
        if not last[1] and time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            last[1] = runs.state_of(run_id) == "cancelling"
        return bool(last[1])

    return asked
