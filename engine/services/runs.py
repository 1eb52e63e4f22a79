"""Runs: triggering, listing, logs, cancel and retry for users; claiming, progress and
outcomes for the engine. Every state change is committed before anyone is told of it."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from engine.context import Actor
from engine.db import rowcount
from engine.errors import Conflict, NotFound, ValidationError
from engine.models import (
    Connection,
    Job,
    JobUpstream,
    JobVersion,
    Run,
    RunLogChunk,
    Schedule,
    User,
    Workspace,
    WorkspaceMember,
    utcnow,
)
from engine.parameters import check_values
from engine.run_states import (
    ACTIVE,
    EXECUTING,
    RETRIED_BY_POLICY,
    RETRYABLE,
    STATES,
    TERMINAL,
    RunState,
    Trigger,
)
from engine.services import audit
from engine.services.base import ADMIN, Service, ServiceDeps, authorize, get_workspace
from engine.services.jobs import get_job
from engine.services.sql import policy_rows
from engine.services.wake import Wake
from engine.services.workspaces import WorkspaceView, workspace_view
from engine.views import LogChunk, MemberView, RunView

MAX_LOG_CHUNK = 64 * 1024
SKIPPED = "skipped: the previous run was still active (overlap=skip)"


@dataclass(frozen=True)
class RunPlan:
    """One run as its executor (or the reconciler, after a crash) needs it: the runner reads
    the metadata DB only through the services, so this is read here in one unit of work."""

    run_id: int
    state: str
    workspace: WorkspaceView
    job: str
    job_type: str
    definition: dict[str, Any]
    connection: str | None  # the job's own connection; None: the workspace's SQL one
    connection_type: str | None  # of the connection the run uses; "duckdb" for the default
    parameters: dict[str, Any]
    logical_date: str
    timeout_s: int | None
    created_by: str
    external_id: str | None
    owners: dict[str, str]  # every layer namespace -> its workspace (the separation rule)
    author: str | None = None  # who wrote the job version (whose rights its SQL runs under)
    author_admin: bool = False  # whether that author is a platform admin
    # (name, layers, bucket, prefix, storage connection id) of every workspace: the SQL
    # policy's inputs, read with the plan so the runner does not read them again
    workspaces: tuple[tuple[Any, ...], ...] = ()


@dataclass(frozen=True)
class ScheduleState:
    """A schedule as the scheduler sees it: trigger, catch-up policy and last fire."""

    id: int
    cron: str
    timezone: str
    paused: bool
    catchup: str
    catchup_window_seconds: int
    last_scheduled_for: datetime | None
    updated_at: datetime


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
    def __init__(self, deps: ServiceDeps) -> None:
        super().__init__(deps)
        # Set when a run may be claimable (queued, or a slot freed); the dispatcher waits
        # on it instead of a short poll (engine/services/wake.py).
        self.wake = Wake(deps.db)

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

    # -- what the engine does (system actions: the run row records them) ---------------------

    def claim(self, owner: str, slots: int, workspace_limit: int) -> builtins.list[int]:
        """Atomically move up to `slots` queued runs to running for `owner`, honouring each
        job's max_concurrent_runs and the per-workspace limit. Returns the claimed ids.

        Three statements whatever the number claimed: the candidates (on PostgreSQL locked
        with their jobs, SKIP LOCKED: two engines never see the same queued row, and a job
        another engine is claiming for is left to it, so two engines cannot both take its
        last slot), the running counts of their workspaces, and one conditional UPDATE."""
        now = utcnow()
        with self.unit() as s:
            postgres = s.get_bind().dialect.name == "postgresql"
            q = (
                select(Run.id, Run.job_id, Run.workspace_id, Job.max_concurrent_runs)
                .join(Job, Job.id == Run.job_id)
                .where(Run.state == RunState.QUEUED)
                .where((Run.not_before.is_(None)) | (Run.not_before <= now))
                .order_by(Run.queued_at, Run.id)
                .limit(max(slots * 4, 20))
            )
            if postgres:
                q = q.with_for_update(skip_locked=True, of=(Run.__table__, Job.__table__))
            candidates = s.execute(q).all()
            if not candidates:
                return []
            busy_job: dict[int, int] = {}
            busy_ws: dict[int, int] = {}
            for job_id, ws_id, n in s.execute(
                select(Run.job_id, Run.workspace_id, func.count())
                .where(
                    Run.workspace_id.in_({c.workspace_id for c in candidates}),
                    Run.state.in_(EXECUTING),
                )
                .group_by(Run.job_id, Run.workspace_id)
            ):
                busy_job[job_id] = busy_job.get(job_id, 0) + n
                busy_ws[ws_id] = busy_ws.get(ws_id, 0) + n
            picked: builtins.list[int] = []
            for run_id, job_id, ws_id, job_limit in candidates:
                if len(picked) >= slots:
                    break
                if busy_job.get(job_id, 0) >= job_limit:
                    continue  # the job's own max_concurrent_runs
                if busy_ws.get(ws_id, 0) >= workspace_limit:
                    continue  # the workspace's limit
                busy_job[job_id] = busy_job.get(job_id, 0) + 1
                busy_ws[ws_id] = busy_ws.get(ws_id, 0) + 1
                picked.append(run_id)
            if not picked:
                return []
            # Conditional on still being queued: on SQLite this is the atomic claim.
            done = s.execute(
                update(Run)
                .where(Run.id.in_(picked), Run.state == RunState.QUEUED)
                .values(state=RunState.RUNNING, owner=owner, started_at=now)
                .returning(Run.id)
            )
            claimed = set(done.scalars())
        return [run_id for run_id in picked if run_id in claimed]

    def release(self, run_id: int, owner: str) -> bool:
        """An engine's claimed run that none of its workers started: back to queued."""
        with self.unit() as s:
            done = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.RUNNING, Run.owner == owner)
                .values(state=RunState.QUEUED, owner=None, started_at=None)
            )
            released = rowcount(done) == 1
        if released:
            self.wake.announce()
        return released

    def set_external(
        self, run_id: int, external_id: str | None, links: dict[str, Any] | None = None
    ) -> None:
        """Record the backend's id for the work the moment the backend accepted it."""
        with self.unit() as s:
            if not links:
                s.execute(update(Run).where(Run.id == run_id).values(external_id=external_id))
                return
            run = s.get_one(Run, run_id)
            run.external_id = external_id
            if links:
                run.links = {**run.links, **links}

    def append_log(self, run_id: int, text: str) -> int:
        """Add a chunk to the run's log; returns its sequence number."""
        if len(text) > MAX_LOG_CHUNK:  # cut, and say so: a silent cut reads as the whole
            text = f"{text[: MAX_LOG_CHUNK - 40]}…[cut, {len(text)} chars]\n"
        with self.unit() as s:
            return _append_log(s, run_id, text)

    def state_of(self, run_id: int) -> str:
        with self.unit() as s:
            return s.scalars(select(Run.state).where(Run.id == run_id)).one()

    def adopt(self, run_id: int, owner: str, previous_owner: str | None) -> bool:
        """Take over a running run from an engine that is gone (compare-and-set)."""
        with self.unit() as s:
            done = s.execute(
                update(Run)
                .where(
                    Run.id == run_id,
                    Run.state.in_(EXECUTING),
                    Run.owner == previous_owner if previous_owner else Run.owner.is_(None),
                )
                .values(owner=owner)
            )
            return rowcount(done) == 1

    def finish(
        self,
        run_id: int,
        state: str,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        owner: str | None = None,
        log: str | None = None,
        external_id: str | None = None,
    ) -> bool:
        """Record the outcome; apply the retry policy and start ready downstream jobs.
        `log`, the run's last log lines, is written in the same transaction, and so is
        `external_id` (the backend's id of work nobody re-adopts: an embedded DuckDB's).
        Returns False when the run had already ended (another engine recorded it)."""
        if state not in TERMINAL:
            raise ValueError(state)
        # The common end (no retry, no downstream job) is one read and one update of
        # plain rows: building ORM objects for them was a third of a run's CPU.
        with self.unit() as s:
            conn = s.connection()
            if log:
                _append_log(s, run_id, log)
            locking = conn.dialect.name == "postgresql"
            found = conn.execute(_FINISH_READ_LOCKED if locking else _FINISH_READ, {"id": run_id})
            row = found.first()
            if row is None or row.state in TERMINAL:
                return False
            if owner is not None and row.owner not in (owner, None):
                return False
            if row.state == RunState.CANCELLING and state in (RunState.FAILED, RunState.SUCCEEDED):
                state = RunState.CANCELLED
            values: dict[str, Any] = {
                "state": state,
                "finished_at": utcnow(),
                "error": error if state != RunState.CANCELLED else (row.error or error),
            }
            if result:
                values["result"] = {**(row.result or {}), **result}
            if external_id is not None:
                values["external_id"] = external_id
            conn.execute(_FINISH_UPDATE, {"run_id": run_id, **values})
            retried = state in RETRIED_BY_POLICY and row.attempt <= row.max_retries
            downstream = state == RunState.SUCCEEDED and bool(row.downstream)
            queued = False
            if retried or downstream:
                s.expire_all()
                run, job = s.get_one(Run, run_id), s.get_one(Job, row.job_id)
                if retried:
                    delay = min(
                        job.retry_backoff_seconds * 2 ** (run.attempt - 1),
                        job.retry_backoff_max_seconds,
                    )
                    new_run(
                        s,
                        job,
                        Trigger.RETRY,
                        "scheduler",
                        parameters=run.parameters,
                        logical_date=run.logical_date,
                        attempt=run.attempt + 1,
                        retry_of=run.id,
                        not_before=utcnow() + timedelta(seconds=delay),
                    )  # claimable after its backoff: the dispatcher's poll finds it then
                queued = downstream and self._start_downstream(s, job, run)
        if queued:
            self.wake.announce()  # downstream runs queued, for any engine
        else:
            self.wake.set()  # a slot freed: this process's engine claims now, not at a poll
        return True

    def _start_downstream(self, s: Session, job: Job, run: Run) -> bool:
        """Queue each downstream job whose upstream runs for this logical date succeeded;
        True when one was queued."""
        queued = False
        downstream = s.scalars(
            select(Job)
            .join(JobUpstream, JobUpstream.job_id == Job.id)
            .where(JobUpstream.upstream_job_id == job.id, Job.archived_at.is_(None))
        ).all()
        for child in downstream:
            if s.get_bind().dialect.name == "postgresql":
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
                        Run.state == RunState.SUCCEEDED,
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
                    Run.trigger == Trigger.UPSTREAM,
                )
            )
            if ready and not already:
                new_run(s, child, Trigger.UPSTREAM, "scheduler", logical_date=run.logical_date)
                queued = True
        return queued

    def fire(self, schedule_id: int, times: builtins.list[datetime]) -> int:
        """Insert the scheduled runs of one schedule for `times` (see fire_due)."""
        return self.fire_due([schedule_id], lambda _sc: (times, times[-1] if times else None))

    def fire_due(
        self,
        schedule_ids: Iterable[int],
        times_for: Callable[[ScheduleState], tuple[builtins.list[datetime], datetime | None]],
    ) -> int:
        """Fire every schedule of `schedule_ids` in ONE transaction, whatever their number:
        one read of the schedules with their jobs and current versions, one count of the
        active runs of the overlap=skip jobs, one multi-row INSERT of the runs and one UPDATE
        of the schedules' marks. `times_for(schedule)` says which times to fire and where
        to move the mark (the catch-up policy is the scheduler's). Paused schedules fire
        nothing. The (job_id, scheduled_for) unique key makes a fire another engine already
        inserted a no-op (ON CONFLICT DO NOTHING), and the mark still moves on, so a
        takeover neither misses nor duplicates. Returns how many runs this call created."""
        ids = set(schedule_ids)
        if not ids:
            return 0
        now = utcnow()
        with self.unit() as s:
            found = s.execute(
                select(Schedule, Job.workspace_id, JobVersion.id)
                .join(Job, Job.id == Schedule.job_id)
                .outerjoin(
                    JobVersion,
                    and_(JobVersion.job_id == Job.id, JobVersion.version == Job.current_version),
                )
                .where(Schedule.id.in_(ids), Schedule.paused.is_(False))
            ).all()
            plan = []
            for sched, ws_id, version_id in found:
                times, mark = times_for(_schedule_state(sched))
                if times or mark is not None:
                    plan.append((sched, ws_id, version_id, times, mark))
            if not plan:
                return 0
            skip_jobs = {sc.job_id for sc, _, _, times, _ in plan if sc.overlap == "skip" and times}
            busy: dict[int, int] = {}
            if skip_jobs:
                busy = dict(
                    s.execute(
                        select(Run.job_id, func.count())
                        .where(Run.job_id.in_(skip_jobs), Run.state.in_(ACTIVE))
                        .group_by(Run.job_id)
                    ).all()
                )
            rows = []
            for sched, ws_id, version_id, times, _ in plan:
                for when in times:
                    skipped = sched.overlap == "skip" and busy.get(sched.job_id, 0) > 0
                    if not skipped:  # queued: the next time of an overlap=skip job waits on it
                        busy[sched.job_id] = busy.get(sched.job_id, 0) + 1
                    rows.append(
                        {
                            "job_id": sched.job_id,
                            "job_version_id": version_id,
                            "workspace_id": ws_id,
                            "trigger": Trigger.SCHEDULE,
                            "state": RunState.SKIPPED if skipped else RunState.QUEUED,
                            "scheduled_for": when,
                            "logical_date": when.date().isoformat(),
                            "parameters": {},
                            "attempt": 1,
                            "queued_at": now,
                            "finished_at": now if skipped else None,
                            "links": {},
                            "result": {},
                            "error": SKIPPED if skipped else None,
                            "created_by": "scheduler",
                        }
                    )
            created: builtins.list[str] = []
            if rows:
                ins = (
                    pg_insert(Run)
                    if s.get_bind().dialect.name == "postgresql"
                    else sqlite_insert(Run)
                )
                created = list(
                    s.execute(
                        ins.values(rows).on_conflict_do_nothing().returning(Run.state)
                    ).scalars()
                )
            marks = {sched.id: mark for sched, _, _, _, mark in plan if mark is not None}
            if marks:
                last = Schedule.last_scheduled_for
                new = case(
                    {sid: literal(when, last.type) for sid, when in marks.items()},
                    value=Schedule.id,
                )
                # Only forward: another engine's later mark is never moved back.
                s.execute(
                    update(Schedule)
                    .where(Schedule.id.in_(marks))
                    .values(
                        last_scheduled_for=case((last.is_(None) | (last < new), new), else_=last)
                    )
                    .execution_options(synchronize_session=False)
                )
        if RunState.QUEUED in created:
            self.wake.announce()
        return len(created)

    def counts(self) -> builtins.list[tuple[str, str, int]]:
        """(state, job type, runs) over every run: what /metrics reports. No actor: the
        operations endpoints show counts, never names."""
        with self.unit() as s:
            q = (
                select(Run.state, Job.type, func.count())
                .join(Job, Job.id == Run.job_id)
                .group_by(Run.state, Job.type)
            )
            return [(state, kind, int(n)) for state, kind, n in s.execute(q)]

    def queue_depth(self) -> int:
        with self.unit() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(Run).where(and_(Run.state == RunState.QUEUED))
                )
                or 0
            )

    def timings(
        self, event: str, after: tuple[datetime, int], limit: int = 5000
    ) -> builtins.list[tuple[datetime, int, str, str, float]]:
        """Runs that passed `event` after the `(time, id)` mark, oldest first, as
        (time, id, job type, state, seconds): what /metrics' histograms observe.
        "claimed": queued -> running (claim lag); "queued": scheduled_for -> queued for
        scheduled runs (schedule lag); "finished": running -> ended (run duration)."""
        cols = {
            "claimed": (Run.started_at, Run.queued_at),
            "queued": (Run.queued_at, Run.scheduled_for),
            "finished": (Run.finished_at, Run.started_at),
        }
        if event not in cols:
            raise ValueError(event)
        at, since = cols[event]
        mark, mark_id = after
        q = (
            select(at, Run.id, Job.type, Run.state, since)
            .join(Job, Job.id == Run.job_id)
            .where(at.is_not(None), since.is_not(None))
            .where((at > mark) | (and_(at == mark, Run.id > mark_id)))
            .order_by(at, Run.id)
            .limit(limit)
        )
        with self.unit() as s:
            return [
                (when, run_id, kind, state, max((when - start).total_seconds(), 0.0))
                for when, run_id, kind, state, start in s.execute(q)
                if when is not None and start is not None  # the query's own filter
            ]

    def plan(self, run_id: int) -> RunPlan:
        """What running (or settling) the run needs: its job version, workspace, connection."""
        found = self.plans([run_id])
        if not found:
            raise NotFound(f"run {run_id} does not exist")
        return found[0]

    def plans(self, run_ids: builtins.list[int]) -> builtins.list[RunPlan]:
        """plan() of several runs, in the order given (missing ones left out): one read of
        the runs with their job, version, author, workspace and connections, one of those
        workspaces' members and one of every workspace's namespaces (the separation rule),
        however many runs."""
        if not run_ids:
            return []
        with self.reading() as s:  # on SQLite: no write lock, no wait for a writer
            rows = {row[0].id: row for row in s.execute(_plans_query(), {"ids": run_ids})}
            members: dict[int, builtins.list[MemberView]] = {}
            for ws_id, username, role in s.execute(
                select(WorkspaceMember.workspace_id, User.username, WorkspaceMember.role)
                .join(User, User.id == WorkspaceMember.user_id)
                .where(WorkspaceMember.workspace_id.in_({r[5].id for r in rows.values()}))
                .order_by(User.username)
            ):
                members.setdefault(ws_id, []).append(MemberView(username, role))
            every = tuple(policy_rows(s))
        owners = {f"{name}_{layer}": name for name, layers, *_ in every for layer in layers}
        plans = []
        for run_id in run_ids:
            if run_id not in rows:
                continue
            (
                run,
                job,
                definition,
                author,
                author_role,
                w,
                conn_name,
                conn_type,
                sql_name,
                sql_type,
                store_name,
                catalog_name,
            ) = rows[run_id]
            ws = workspace_view(w, store_name, catalog_name, sql_name, members.get(w.id, []))
            plans.append(
                RunPlan(
                    run_id=run.id,
                    state=run.state,
                    workspace=ws,
                    job=job.name,
                    job_type=job.type,
                    definition=dict(definition),
                    connection=conn_name,
                    connection_type=conn_type if conn_name else sql_type if sql_name else "duckdb",
                    parameters=dict(run.parameters),
                    logical_date=run.logical_date or "",
                    timeout_s=job.timeout_seconds,
                    created_by=run.created_by,
                    external_id=run.external_id,
                    owners=dict(owners),
                    author=author,
                    author_admin=author_role == ADMIN,
                    workspaces=every,
                )
            )
        return plans

    def schedules(self) -> builtins.list[ScheduleState]:
        """Every schedule, for the scheduler to rebuild its triggers from."""
        with self.unit() as s:
            return [_schedule_state(sc) for sc in s.scalars(select(Schedule))]

    def schedule(self, schedule_id: int) -> ScheduleState | None:
        with self.unit() as s:
            sc = s.get(Schedule, schedule_id)
            return _schedule_state(sc) if sc is not None else None

    def mark_scheduled(self, schedule_id: int, when: datetime) -> None:
        """Move the schedule's mark to `when` without firing (catch-up policy `none`)."""
        with self.unit() as s:
            sc = s.get(Schedule, schedule_id)
            if sc is not None:
                sc.last_scheduled_for = when


@functools.cache
def _plans_query() -> Any:
    """The statement of plans(), built once: building it (four aliased joins) cost more
    CPU per run than running it; the run ids are an expanding bind parameter."""
    job_conn = aliased(Connection)
    ws_sql = aliased(Connection)
    ws_store = aliased(Connection)
    ws_catalog = aliased(Connection)
    return (
        select(
            Run,
            Job,
            JobVersion.definition,
            JobVersion.created_by,
            User.platform_role,
            Workspace,
            job_conn.name,
            job_conn.type,
            ws_sql.name,
            ws_sql.type,
            ws_store.name,
            ws_catalog.name,
        )
        .join(Job, Job.id == Run.job_id)
        .join(JobVersion, JobVersion.id == Run.job_version_id)
        .join(Workspace, Workspace.id == Run.workspace_id)
        .outerjoin(User, User.username == JobVersion.created_by)
        .outerjoin(job_conn, job_conn.id == Job.connection_id)
        .outerjoin(ws_sql, ws_sql.id == Workspace.sql_connection_id)
        .outerjoin(ws_store, ws_store.id == Workspace.storage_connection_id)
        .outerjoin(ws_catalog, ws_catalog.id == Workspace.catalog_connection_id)
        .where(Run.id.in_(bindparam("ids", expanding=True)))
    )


def _finish_read() -> Any:
    """What `finish` decides on: the run's row, its job's retry limit and whether any job
    runs downstream of it. Built once: a statement's cache key is computed per object."""
    has_downstream = exists().where(JobUpstream.upstream_job_id == Run.job_id)
    return (
        select(
            Run.state,
            Run.owner,
            Run.error,
            Run.result,
            Run.attempt,
            Run.job_id,
            Job.max_retries,
            has_downstream.label("downstream"),
        )
        .join(Job, Job.id == Run.job_id)
        .where(Run.id == bindparam("id"))
    )


_FINISH_READ = _finish_read()
_FINISH_READ_LOCKED = _finish_read().with_for_update(of=Run.__table__)
_RUNS = cast(Table, Run.__table__)
# The columns set are the parameters' keys (state, finished_at, error, result, ...).
_FINISH_UPDATE = update(_RUNS).where(_RUNS.c.id == bindparam("run_id"))


def _append_log(s: Session, run_id: int, text: str) -> int:
    """One INSERT ... SELECT: the chunk after the run's last one (a statement, not two)."""
    if len(text) > MAX_LOG_CHUNK:  # cut, and say so: a silent cut reads as the whole
        text = f"{text[: MAX_LOG_CHUNK - 40]}…[cut, {len(text)} chars]\n"
    nxt = select(
        literal(run_id),
        func.coalesce(func.max(RunLogChunk.seq), 0) + 1,
        literal(utcnow()),
        literal(text),
    ).where(RunLogChunk.run_id == run_id)
    return int(
        s.execute(
            insert(RunLogChunk)
            .from_select(["run_id", "seq", "at", "text"], nxt)
            .returning(RunLogChunk.seq)
        ).scalar_one()
    )


def _schedule_state(sc: Schedule) -> ScheduleState:
    return ScheduleState(
        sc.id,
        sc.cron,
        sc.timezone,
        sc.paused,
        sc.catchup,
        sc.catchup_window_seconds,
        sc.last_scheduled_for,
        sc.updated_at,
    )
