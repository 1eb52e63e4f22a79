"""The engine's side of runs: claims, progress and outcomes, schedule fires, the plans an
executor runs from, and the counts /metrics reports. No actor: these are system actions,
trusted to their caller (the runner), never reachable from a client (engine/api/verbs.py
lists no verb of it), and the run row records them."""

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

from engine.db import rowcount
from engine.errors import NotFound
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
from engine.run_states import ACTIVE, EXECUTING, RETRIED_BY_POLICY, TERMINAL, RunState, Trigger
from engine.services.base import ADMIN, Service, ServiceDeps
from engine.services.runs import MAX_LOG_CHUNK, new_run
from engine.services.sql import policy_rows
from engine.services.wake import Wake
from engine.services.workspaces import WorkspaceView, workspace_view
from engine.views import MemberView

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


class RunQueue(Service):
    def __init__(self, deps: ServiceDeps, wake: Wake) -> None:
        super().__init__(deps)
        # Shared with the users' RunService: a run queued there or a slot freed here wakes
        # the dispatcher (engine/services/wake.py).
        self.wake = wake

    def claim(self, owner: str, slots: int, workspace_limit: int) -> builtins.list[int]:
        """Atomically move up to `slots` queued runs to running for `owner`, honouring each
        job's max_concurrent_runs and the per-workspace limit. Returns the claimed ids.

        Three statements whatever the number claimed: the candidates (on PostgreSQL locked
        with their jobs, SKIP LOCKED: two engines never see the same queued row, and a job
        another engine is claiming for is left to it, so two engines cannot both take its
        last slot), the running counts of their workspaces, and one conditional UPDATE."""
        now = utcnow()
        with self.unit() as s:
            conn = s.connection()  # plain rows, statements built once (_CLAIM_*)
            postgres = conn.dialect.name == "postgresql"
            candidates = conn.execute(
                _CLAIM_CANDIDATES_LOCKED if postgres else _CLAIM_CANDIDATES,
                {"now": now, "limit": max(slots * 4, 20)},
            ).all()
            if not candidates:
                return []
            busy_job: dict[int, int] = {}
            busy_ws: dict[int, int] = {}
            for job_id, ws_id, n in conn.execute(
                _CLAIM_BUSY, {"workspaces": list({c.workspace_id for c in candidates})}
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
            done = conn.execute(
                _CLAIM_UPDATE,
                {"picked": picked, "new_state": RunState.RUNNING, "owner": owner, "now": now},
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


def _claim_candidates() -> Any:
    """Queued runs past their backoff, oldest first, with their job's limit."""
    return (
        select(Run.id, Run.job_id, Run.workspace_id, Job.max_concurrent_runs)
        .join(Job, Job.id == Run.job_id)
        .where(Run.state == RunState.QUEUED)
        .where((Run.not_before.is_(None)) | (Run.not_before <= bindparam("now")))
        .order_by(Run.queued_at, Run.id)
        .limit(bindparam("limit"))
    )


# The claim's statements, built once: a statement's cache key is computed per object, and
# building them per tick was a fifth of the dispatcher's CPU.
_CLAIM_CANDIDATES = _claim_candidates()
_CLAIM_CANDIDATES_LOCKED = _claim_candidates().with_for_update(
    skip_locked=True, of=(Run.__table__, Job.__table__)
)
_CLAIM_BUSY = (
    select(Run.job_id, Run.workspace_id, func.count())
    .where(
        Run.workspace_id.in_(bindparam("workspaces", expanding=True)),
        Run.state.in_(EXECUTING),
    )
    .group_by(Run.job_id, Run.workspace_id)
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
_CLAIM_UPDATE = (
    update(_RUNS)
    .where(_RUNS.c.id.in_(bindparam("picked", expanding=True)), _RUNS.c.state == RunState.QUEUED)
    .values(state=bindparam("new_state"), owner=bindparam("owner"), started_at=bindparam("now"))
    .returning(_RUNS.c.id)
)


def _append_log_statement() -> Any:
    """INSERT ... SELECT of a chunk after the run's last one, built once (its cache key is
    computed per statement object: building it per chunk was a tenth of a run's CPU)."""
    chunks = cast(Table, RunLogChunk.__table__)
    run_id = bindparam("run_id", type_=chunks.c.run_id.type)
    nxt = select(
        run_id,
        func.coalesce(func.max(chunks.c.seq), 0) + 1,
        bindparam("at", type_=chunks.c.at.type),
        bindparam("text", type_=chunks.c.text.type),
    ).where(chunks.c.run_id == run_id)
    return insert(chunks).from_select(["run_id", "seq", "at", "text"], nxt).returning(chunks.c.seq)


_APPEND_LOG = _append_log_statement()


def _append_log(s: Session, run_id: int, text: str) -> int:
    """One statement: the chunk after the run's last one (a statement, not two)."""
    if len(text) > MAX_LOG_CHUNK:  # cut, and say so: a silent cut reads as the whole
        text = f"{text[: MAX_LOG_CHUNK - 40]}…[cut, {len(text)} chars]\n"
    values = {"run_id": run_id, "at": utcnow(), "text": text}
    return int(s.connection().execute(_APPEND_LOG, values).scalar_one())


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
