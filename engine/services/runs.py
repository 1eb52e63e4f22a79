"""Runs as users see them: trigger, list, logs, cancel and retry, each role-checked and
audited. The engine's side (claims, outcomes, schedule fires) is engine/services/run_queue.py.
Every state change is committed before anyone is told of it."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import Actor
from engine.errors import Conflict, NotFound, ValidationError
from engine.models import (
    Job,
    JobVersion,
    Run,
    RunLogChunk,
    Workspace,
    utcnow,
)
from engine.parameters import check_values
from engine.run_states import (
    RETRYABLE,
    STATES,
    TERMINAL,
    RunState,
    Trigger,
)
from engine.services import audit
from engine.services.base import Service, ServiceDeps, authorize, get_workspace
from engine.services.jobs import get_job
from engine.services.wake import Wake
from engine.views import LogChunk, RunView

MAX_LOG_CHUNK = 64 * 1024


def _view(run: Run, job: Job, ws_name: str, version: int) -> RunView:
    return RunView(
        run.id,
        ws_name,
        job.name,
        job.type,
        version,
        run.trigger,
        run.state,
        run.attempt,
        run.retry_of_id,
        run.scheduled_for,
        run.logical_date,
        dict(run.parameters),
        run.queued_at,
        run.started_at,
        run.finished_at,
        run.owner,
        run.external_id,
        dict(run.links),
        dict(run.result),
        run.error,
        run.created_by,
    )


def _views(s: Session, runs: list[Run]) -> list[RunView]:
    if not runs:
        return []
    jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_({r.job_id for r in runs})))}
    names = dict(
        s.execute(
            select(Workspace.id, Workspace.name).where(
                Workspace.id.in_({r.workspace_id for r in runs})
            )
        ).all()
    )
    versions = dict(
        s.execute(
            select(JobVersion.id, JobVersion.version).where(
                JobVersion.id.in_({r.job_version_id for r in runs})
            )
        ).all()
    )
    return [
        _view(r, jobs[r.job_id], names[r.workspace_id], versions[r.job_version_id]) for r in runs
    ]


def new_run(
    s: Session,
    job: Job,
    trigger: str,
    created_by: str,
    *,
    parameters: dict[str, Any] | None = None,
    logical_date: str | None = None,
    scheduled_for: datetime | None = None,
    attempt: int = 1,
    retry_of: int | None = None,
    not_before: datetime | None = None,
    state: str = RunState.QUEUED,
    version_id: int | None = None,
) -> Run:
    version = version_id or s.scalar(
        select(JobVersion.id).where(
            JobVersion.job_id == job.id, JobVersion.version == job.current_version
        )
    )
    run = Run(
        job_id=job.id,
        job_version_id=version,
        workspace_id=job.workspace_id,
        trigger=trigger,
        state=state,
        scheduled_for=scheduled_for,
        logical_date=logical_date or (scheduled_for or utcnow()).date().isoformat(),
        parameters=parameters or {},
        attempt=attempt,
        retry_of_id=retry_of,
        not_before=not_before,
        created_by=created_by,
    )
    if state in TERMINAL:
        run.finished_at = utcnow()
    s.add(run)
    s.flush()
    return run


class RunService(Service):
    def __init__(self, deps: ServiceDeps, wake: Wake) -> None:
        super().__init__(deps)
        # Told when a run is queued: the dispatcher waits on it instead of a short poll
        # (engine/services/wake.py); the RunQueue shares it.
        self.wake = wake

    # -- what users do ----------------------------------------------------------------------

    def trigger(
        self,
        actor: Actor,
        workspace: str,
        job: str,
        *,
        parameters: dict[str, Any] | None = None,
        trigger: str = Trigger.MANUAL,
        logical_date: str | None = None,
    ) -> RunView:
        """Queue a run of the job's current version."""
        if trigger not in (Trigger.MANUAL, Trigger.CLI):
            raise ValidationError("users trigger runs as manual or cli", field="trigger")
        if logical_date is not None:
            try:
                # Strict YYYY-MM-DD: `{{ ds }}` renders it as a date.
                if len(logical_date) != 10:
                    raise ValueError(logical_date)
                datetime.fromisoformat(logical_date)
            except ValueError:
                raise ValidationError(
                    "must be an ISO date, e.g. 2026-11-24", field="logical_date"
                ) from None
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.run", ws)
            if ws.archived_at is not None:
                raise Conflict(f"workspace {workspace!r} is archived")
            row = get_job(s, ws.id, job)
            definition = (
                s.scalar(
                    select(JobVersion.definition).where(
                        JobVersion.job_id == row.id, JobVersion.version == row.current_version
                    )
                )
                or {}
            )
            # Checked against the declared types now, so a bad value queues nothing.
            check_values(definition, parameters, job)
            run = new_run(
                s, row, trigger, actor.username, parameters=parameters, logical_date=logical_date
            )
            audit.record(
                s,
                actor,
                "job.run",
                "run",
                str(run.id),
                workspace=workspace,
                details={"job": job, "parameters": parameters or {}},
            )
            view = _views(s, [run])[0]
        self.wake.announce()
        return view

    def list(
        self,
        actor: Actor,
        workspace: str,
        *,
        job: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[RunView]:
        """Newest first; pass the last id seen as `before_id` for the next page."""
        if state is not None and state not in STATES:
            raise ValidationError(f"must be one of {', '.join(STATES)}", field="state")
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "run.show", ws)
            q = select(Run).where(Run.workspace_id == ws.id)
            if job:
                q = q.where(Run.job_id == get_job(s, ws.id, job).id)
            if state:
                q = q.where(Run.state == state)
            if since:
                q = q.where(Run.queued_at >= since)
            if before_id:
                q = q.where(Run.id < before_id)
            runs = list(s.scalars(q.order_by(Run.id.desc()).limit(max(1, min(limit, 1000)))))
            return _views(s, runs)

    def get(self, actor: Actor, run_id: int) -> RunView:
        with self.unit() as s:
            run = self._visible(s, actor, run_id, "run.show")
            return _views(s, [run])[0]

    def logs(
        self, actor: Actor, run_id: int, after_seq: int = 0, limit: int = 1000
    ) -> builtins.list[LogChunk]:
        with self.unit() as s:
            self._visible(s, actor, run_id, "run.show")
            rows = s.scalars(
                select(RunLogChunk)
                .where(RunLogChunk.run_id == run_id, RunLogChunk.seq > after_seq)
                .order_by(RunLogChunk.seq)
                .limit(limit)
            )
            return [LogChunk(c.seq, c.at, c.text) for c in rows]

    def cancel(self, actor: Actor, run_id: int) -> RunView:
        """A queued run is cancelled at once; a running one goes to `cancelling` and its
        executor stops the work on the backend."""
        with self.unit() as s:
            run = self._visible(s, actor, run_id, "run.cancel", for_update=True)
            if run.state == RunState.QUEUED:
                run.state, run.finished_at = RunState.CANCELLED, utcnow()
                run.error = f"cancelled by {actor.username}"
            elif run.state == RunState.RUNNING:
                run.state = RunState.CANCELLING
                run.error = f"cancelled by {actor.username}"
            else:
                raise Conflict(
                    f"run {run_id} is {run.state}; only queued or running runs can be cancelled"
                )
            ws = s.get_one(Workspace, run.workspace_id)
            audit.record(s, actor, "run.cancel", "run", str(run_id), workspace=ws.name)
            return _views(s, [run])[0]

    def retry(self, actor: Actor, run_id: int) -> RunView:
        """A new attempt of a failed, timed-out or cancelled run, linked to it."""
        with self.unit() as s:
            run = self._visible(s, actor, run_id, "run.retry")
            if run.state not in RETRYABLE:
                raise Conflict(
                    f"run {run_id} is {run.state}; only failed, timed out or "
                    "cancelled runs can be retried"
                )
            job = s.get_one(Job, run.job_id)
            definition = s.scalar(
                select(JobVersion.definition).where(
                    JobVersion.job_id == job.id, JobVersion.version == job.current_version
                )
            )
            # The current version may declare other types than the failed run's version.
            check_values(definition or {}, run.parameters, job.name)
            new = new_run(
                s,
                job,
                Trigger.RETRY,
                actor.username,
                parameters=run.parameters,
                logical_date=run.logical_date,
                attempt=run.attempt + 1,
                retry_of=run.id,
            )
            ws = s.get_one(Workspace, run.workspace_id)
            audit.record(
                s,
                actor,
                "run.retry",
                "run",
                str(new.id),
                workspace=ws.name,
                details={"retry_of": run_id},
            )
            view = _views(s, [new])[0]
        self.wake.announce()
        return view

    def _visible(
        self, s: Session, actor: Actor, run_id: int, action: str, for_update: bool = False
    ) -> Run:
        q = select(Run).where(Run.id == run_id)
        if for_update and s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        run = s.scalar(q)
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        authorize(s, actor, action, s.get(Workspace, run.workspace_id))
        return run
