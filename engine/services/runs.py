"""Runs: triggering, listing, logs, cancel and retry for users; claiming, progress and
outcomes for the engine. Every state change is committed before anyone is told of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.context import Actor
from engine.errors import Conflict, NotFound, ValidationError
from engine.models import (
    Job,
    JobUpstream,
    JobVersion,
    Run,
    RunLogChunk,
    Schedule,
    Workspace,
    utcnow,
)
from engine.run_states import ACTIVE, STATES, TERMINAL
from engine.services import audit
from engine.services.base import Service, authorize, get_workspace
from engine.services.jobs import get_job

MAX_LOG_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RunView:
    id: int
    workspace: str
    job: str
    job_type: str
    version: int
    trigger: str
    state: str
    attempt: int
    retry_of: int | None
    scheduled_for: datetime | None
    logical_date: str | None
    parameters: dict[str, Any]
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    owner: str | None
    external_id: str | None
    links: dict[str, Any]
    result: dict[str, Any]
    error: str | None
    created_by: str

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()


@dataclass(frozen=True)
class LogChunk:
    seq: int
    at: datetime
    text: str


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
    state: str = "queued",
) -> Run:
    version = s.scalar(
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
    # -- what users do ----------------------------------------------------------------------

    def trigger(
        self,
        actor: Actor,
        workspace: str,
        job: str,
        *,
        parameters: dict[str, Any] | None = None,
        trigger: str = "manual",
        logical_date: str | None = None,
    ) -> RunView:
        """Queue a run of the job's current version."""
        if trigger not in ("manual", "cli"):
            raise ValidationError("users trigger runs as manual or cli", field="trigger")
        if logical_date is not None:
            try:
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
            declared = definition.get("params", {})
            unknown = sorted(set(parameters or {}) - set(declared))
            if unknown:
                raise ValidationError(
                    f"job {job!r} has no parameter {unknown[0]!r}; it declares "
                    f"{', '.join(sorted(declared)) or 'none'}",
                    field="parameters",
                )
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
            return _views(s, [run])[0]

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
    ) -> list[LogChunk]:
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
            if run.state == "queued":
                run.state, run.finished_at = "cancelled", utcnow()
                run.error = f"cancelled by {actor.username}"
            elif run.state == "running":
                run.state = "cancelling"
                run.error = f"cancelled by {actor.username}"
            else:
                raise Conflict(
                    f"run {run_id} is {run.state}; only queued or running runs can be cancelled"
                )
            ws = s.get(Workspace, run.workspace_id)
            audit.record(s, actor, "run.cancel", "run", str(run_id), workspace=ws.name)
            return _views(s, [run])[0]

    def retry(self, actor: Actor, run_id: int) -> RunView:
        """A new attempt of a failed, timed-out or cancelled run, linked to it."""
        with self.unit() as s:
            run = self._visible(s, actor, run_id, "run.retry")
            if run.state not in ("failed", "timed_out", "cancelled"):
                raise Conflict(
                    f"run {run_id} is {run.state}; only failed, timed out or "
                    "cancelled runs can be retried"
                )
            job = s.get(Job, run.job_id)
            new = new_run(
                s,
                job,
                "retry",
                actor.username,
                parameters=run.parameters,
                logical_date=run.logical_date,
                attempt=run.attempt + 1,
                retry_of=run.id,
            )
            ws = s.get(Workspace, run.workspace_id)
            audit.record(
                s,
                actor,
                "run.retry",
                "run",
                str(new.id),
                workspace=ws.name,
                details={"retry_of": run_id},
            )
            return _views(s, [new])[0]

    def _visible(
        self, s: Session, actor: Actor, run_id: int, action: str, for_update: bool = False
    ) -> Run:
        q = select(Run).where(Run.id == run_id)
        if for_update and s.bind.dialect.name == "postgresql":
            q = q.with_for_update()
        run = s.scalar(q)
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        authorize(s, actor, action, s.get(Workspace, run.workspace_id))
        return run

    # -- what the engine does (system actions: the run row records them) ---------------------

    def claim(self, owner: str, slots: int, workspace_limit: int) -> list[int]:
        """Atomically move up to `slots` queued runs to running for `owner`, honouring each
        job's max_concurrent_runs and the per-workspace limit. Returns the claimed ids."""
        claimed: list[int] = []
        now = utcnow()
        with self.unit() as s:
            postgres = s.bind.dialect.name == "postgresql"
            q = (
                select(Run.id, Run.job_id, Run.workspace_id)
                .where(Run.state == "queued")
                .where((Run.not_before.is_(None)) | (Run.not_before <= now))
                .order_by(Run.queued_at, Run.id)
                .limit(max(slots * 4, 20))
            )
            if postgres:
                # Two engines never see the same queued row; neither waits for the other.
                q = q.with_for_update(skip_locked=True, of=Run)
            candidates = s.execute(q).all()
            for run_id, job_id, ws_id in candidates:
                if len(claimed) >= slots:
                    break
                if postgres:
                    # Serialise claims per job so two engines cannot both take the last slot.
                    s.execute(select(Job.id).where(Job.id == job_id).with_for_update())
                job = s.get(Job, job_id)
                running_job = s.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(Run.job_id == job_id, Run.state.in_(("running", "cancelling")))
                )
                if running_job >= job.max_concurrent_runs:
                    continue
                running_ws = s.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(Run.workspace_id == ws_id, Run.state.in_(("running", "cancelling")))
                )
                if running_ws >= workspace_limit:
                    continue
                # Conditional on still being queued: on SQLite this is the atomic claim.
                done = s.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.state == "queued")
                    .values(state="running", owner=owner, started_at=now)
                )
                if done.rowcount == 1:
                    claimed.append(run_id)
        return claimed

    def set_external(
        self, run_id: int, external_id: str | None, links: dict[str, Any] | None = None
    ) -> None:
        """Record the backend's id for the work the moment the backend accepted it."""
        with self.unit() as s:
            run = s.get(Run, run_id)
            run.external_id = external_id
            if links:
                run.links = {**run.links, **links}

    def append_log(self, run_id: int, text: str) -> int:
        """Add a chunk to the run's log; returns its sequence number."""
        text = text[:MAX_LOG_CHUNK]
        with self.unit() as s:
            last = (
                s.scalar(select(func.max(RunLogChunk.seq)).where(RunLogChunk.run_id == run_id)) or 0
            )
            s.add(RunLogChunk(run_id=run_id, seq=last + 1, text=text))
            return last + 1

    def state_of(self, run_id: int) -> str:
        with self.unit() as s:
            return s.scalar(select(Run.state).where(Run.id == run_id))

    def adopt(self, run_id: int, owner: str, previous_owner: str | None) -> bool:
        """Take over a running run from an engine that is gone (compare-and-set)."""
        with self.unit() as s:
            done = s.execute(
                update(Run)
                .where(
                    Run.id == run_id,
                    Run.state.in_(("running", "cancelling")),
                    Run.owner == previous_owner if previous_owner else Run.owner.is_(None),
                )
                .values(owner=owner)
            )
            return done.rowcount == 1

    def finish(
        self,
        run_id: int,
        state: str,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> bool:
        """Record the outcome; apply the retry policy and start ready downstream jobs.
        Returns False when the run had already ended (another engine recorded it)."""
        if state not in TERMINAL:
            raise ValueError(state)
        with self.unit() as s:
            run = s.scalar(
                select(Run).where(Run.id == run_id).with_for_update()
                if s.bind.dialect.name == "postgresql"
                else select(Run).where(Run.id == run_id)
            )
            if run is None or run.state in TERMINAL:
                return False
            if owner is not None and run.owner not in (owner, None):
                return False
            if run.state == "cancelling" and state in ("failed", "succeeded"):
                state = "cancelled"
            run.state, run.finished_at = state, utcnow()
            run.error = error if state != "cancelled" else (run.error or error)
            if result:
                run.result = {**run.result, **result}
            job = s.get(Job, run.job_id)
            if state in ("failed", "timed_out") and run.attempt <= job.max_retries:
                delay = min(
                    job.retry_backoff_seconds * 2 ** (run.attempt - 1),
                    job.retry_backoff_max_seconds,
                )
                new_run(
                    s,
                    job,
                    "retry",
                    "scheduler",
                    parameters=run.parameters,
                    logical_date=run.logical_date,
                    attempt=run.attempt + 1,
                    retry_of=run.id,
                    not_before=utcnow() + timedelta(seconds=delay),
                )
            if state == "succeeded":
                self._start_downstream(s, job, run)
            return True

    def _start_downstream(self, s: Session, job: Job, run: Run) -> None:
        """Queue each downstream job whose upstream runs for this logical date succeeded."""
        downstream = s.scalars(
            select(Job)
            .join(JobUpstream, JobUpstream.job_id == Job.id)
            .where(JobUpstream.upstream_job_id == job.id, Job.archived_at.is_(None))
        ).all()
        for child in downstream:
            if s.bind.dialect.name == "postgresql":
                s.execute(select(Job.id).where(Job.id == child.id).with_for_update())
            ups = s.scalars(
                select(JobUpstream.upstream_job_id).where(JobUpstream.job_id == child.id)
            ).all()
            ready = all(
                s.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(
                        Run.job_id == up,
                        Run.logical_date == run.logical_date,
                        Run.state == "succeeded",
                    )
                )
                for up in ups
            )
            already = s.scalar(
                select(func.count())
                .select_from(Run)
                .where(
                    Run.job_id == child.id,
                    Run.logical_date == run.logical_date,
                    Run.trigger == "upstream",
                )
            )
            if ready and not already:
                new_run(s, child, "upstream", "scheduler", logical_date=run.logical_date)

    def fire(self, schedule_id: int, times: list[datetime]) -> int:
        """Insert the scheduled runs for `times` (skipped when the overlap policy says so).
        The (job_id, scheduled_for) unique key makes a second insert by another engine fail
        harmlessly. Returns how many runs this call created."""
        created = 0
        for when in times:
            try:
                with self.unit() as s:
                    sched = s.get(Schedule, schedule_id)
                    job = s.get(Job, sched.job_id)
                    busy = s.scalar(
                        select(func.count())
                        .select_from(Run)
                        .where(Run.job_id == job.id, Run.state.in_(ACTIVE))
                    )
                    state = "skipped" if busy and sched.overlap == "skip" else "queued"
                    run = new_run(s, job, "schedule", "scheduler", scheduled_for=when, state=state)
                    if state == "skipped":
                        run.error = "skipped: the previous run was still active (overlap=skip)"
                    if sched.last_scheduled_for is None or when > sched.last_scheduled_for:
                        sched.last_scheduled_for = when
                    created += 1
            except IntegrityError:
                with self.unit() as s:  # another engine fired it: just move our mark on
                    s.execute(
                        update(Schedule)
                        .where(
                            Schedule.id == schedule_id,
                            (Schedule.last_scheduled_for.is_(None))
                            | (Schedule.last_scheduled_for < when),
                        )
                        .values(last_scheduled_for=when)
                    )
        return created

    def queue_depth(self) -> int:
        with self.unit() as s:
            return (
                s.scalar(select(func.count()).select_from(Run).where(and_(Run.state == "queued")))
                or 0
            )
