"""Claims queued runs and executes them in a bounded pool."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from engine import job_kinds
from engine.errors import SadeemError
from engine.run_states import RunState
from engine.runner.context import LogWriter, Outcome, RunContext
from engine.services.run_queue import RunPlan

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
        """Claim as many runs as there are free workers; returns the run ids started.
        Claim and submit happen under the lock stop() takes first: a run claimed while
        the engine stops is still handed to a worker (and waited for), never left
        `running` in the database with nobody on it."""
        with self.lock:
            if not self.claiming:
                return []
            self.active = {k: f for k, f in self.active.items() if not f.done()}
            slots = self.max_workers - len(self.active)
            if slots <= 0:
                return []
            ids = self.services.queue.claim(self.owner, slots, self.workspace_limit)
            if not ids:
                return []
            # Every claimed run's context in one read; a run whose plan cannot be read
            # (it went meanwhile) is handed over too and ends in its worker.
            try:
                plans = {p.run_id: p for p in self.services.queue.plans(ids)}
            except Exception:
                log.exception("reading the claimed runs failed", extra={"run_ids": ids})
                plans = {}
            for run_id in ids:
                log.info("claimed run", extra={"run_id": run_id})
                self.active[run_id] = self.pool.submit(self.execute, run_id, plans.get(run_id))
        return ids

    def context(
        self, run_id: int, plan: RunPlan | None = None
    ) -> tuple[RunContext, dict[str, str]]:
        queue = self.services.queue
        if plan is None:
            plan = queue.plan(run_id)
        rc = RunContext(
            run_id=plan.run_id,
            workspace=plan.workspace,
            job=plan.job,
            job_type=plan.job_type,
            definition=plan.definition,
            connection=plan.connection,
            parameters=plan.parameters,
            logical_date=plan.logical_date,
            timeout_s=plan.timeout_s,
            created_by=plan.created_by,
            started=time.monotonic(),
            log=LogWriter(partial(queue.append_log, run_id)),
            set_external=partial(queue.set_external, run_id),
            cancel_requested=_cancel_poll(queue, run_id, plan.state == RunState.CANCELLING),
            connection_type=plan.connection_type,
            author=plan.author,
            author_admin=plan.author_admin,
            workspaces=plan.workspaces,
        )
        return rc, plan.owners

    def execute(self, run_id: int, plan: RunPlan | None = None) -> None:
        rc: RunContext | None = None
        last_lines: str | None = None
        try:
            rc, owners = self.context(run_id, plan)
            rc.log(f"run {run_id} of {rc.job} ({rc.job_type} job) started on {self.owner}")
            outcome = self.run(rc, owners)
        except SadeemError as exc:
            outcome = Outcome(RunState.FAILED, str(exc))
        except Exception as exc:  # an executor bug must still end the run, never hang it
            log.exception("executor crashed", extra={"run_id": run_id})
            outcome = Outcome(RunState.FAILED, f"internal error ({exc.__class__.__name__})")
        if rc is not None:
            rc.log(f"finished: {outcome.state}" + (f": {outcome.error}" if outcome.error else ""))
            # The last lines are written with the outcome, in its transaction.
            last_lines = rc.log.drain()
        try:
            self.services.queue.finish(
                run_id,
                outcome.state,
                error=outcome.error,
                result=outcome.result,
                owner=self.owner,
                log=last_lines,
                external_id=outcome.external_id,
            )
        finally:
            if rc is not None:  # lines logged since drain (a log pump), after the last ones
                rc.log.release()

    def run(self, rc: RunContext, owners: dict[str, str]) -> Outcome:
        """The run's work, by the executor its kind declares (engine.job_kinds)."""
        execute = job_kinds.job_kind(rc.job_type).load_executor()
        return execute(self.services, rc, owners)

    def stop(self, grace_s: float) -> list[int]:
        """Stop claiming; wait up to `grace_s` for running work. Returns unfinished ids."""
        with self.lock:  # waits for a tick that is claiming right now
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
        # A claimed run whose worker never started goes back to the queue for the next
        # engine, instead of waiting to be marked lost.
        for run_id in [k for k, f in self.active.items() if f.cancelled()]:
            self.services.queue.release(run_id, self.owner)
        return [k for k in pending if not self.active[k].cancelled()]


def _cancel_poll(queue: Any, run_id: int, asked_already: bool, every_s: float = 1.0) -> Any:
    """A cheap `was cancel asked?` that reads the run's state at most once a second; the
    first read a second after the plan's (which says whether it was asked already)."""
    last = [time.monotonic(), asked_already]

    def asked() -> bool:
        if not last[1] and time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            last[1] = queue.state_of(run_id) == RunState.CANCELLING
        return bool(last[1])

    return asked
