"""Jobs: versioned definitions of a declared kind (engine.job_kinds: SQL, Spark, ...), their
schedules and upstream links."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import connection_types as ct
from engine import job_kinds, parameters
from engine.context import Actor
from engine.errors import Conflict, NotFound, ValidationError
from engine.identifiers import check_identifier
from engine.models import Connection, Job, JobUpstream, JobVersion, Run, Schedule, utcnow
from engine.scheduling import next_fire, trigger
from engine.services import audit
from engine.services.base import Service, ServiceDeps, authorize, ensure_active, get_workspace
from engine.text import check_description
from engine.views import JobView, ScheduleSpec, ScheduleView

CATCHUP = ("none", "latest", "all")
OVERLAP = ("skip", "queue")


# Job settings are INTEGER columns: a larger number would overflow the database driver.
MAX_INT = 2_147_483_647


def check_definition(job_type: str, definition: dict[str, Any]) -> dict[str, Any]:
    """A normalised copy of a job definition, or a ValidationError naming the field: the
    keys its kind declares (engine.job_kinds), the parameters, then the kind's own check."""
    kind = job_kinds.job_kind(job_type)
    d = dict(definition)
    allowed = kind.keys
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown field for a {job_type} job; known: {', '.join(sorted(allowed))}",
            field=unknown[0],
        )
    params = d.setdefault("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ValidationError("must be a mapping of name to default value", field="params")
    for key in params:
        check_identifier(key, "params")
    _check_param_types(d, params)
    for f in kind.fields:
        if f.required and d.get(f.name) in (None, ""):
            raise ValidationError(f.missing or f"required for a {job_type} job", field=f.name)
    if kind.check is not None:
        kind.check(d)
    return d


def _check_param_types(d: dict[str, Any], params: dict[str, Any]) -> None:
    """Declared types name declared parameters and known types; defaults fit their type."""
    types = d.get("param_types")
    if types is None:
        d.pop("param_types", None)
    elif not isinstance(types, dict):
        raise ValidationError("must be a mapping of parameter name to type", "param_types")
    else:
        for name, kind in types.items():
            if name not in params:
                raise ValidationError(
                    f"type given for {name!r}, which is not a declared parameter",
                    field="param_types",
                )
            parameters.check_type(name, kind)
        if not types:
            d.pop("param_types")
    for name, kind in parameters.declared_types(d).items():
        parameters.coerce(name, kind, params[name])


def check_schedule(spec: ScheduleSpec) -> None:
    """A schedule as asked, checked whole before anything is written."""
    trigger(spec.cron, spec.timezone)  # validates both
    if spec.catchup not in CATCHUP:
        raise ValidationError(f"must be one of {', '.join(CATCHUP)}", field="catchup")
    if spec.overlap not in OVERLAP:
        raise ValidationError(f"must be one of {', '.join(OVERLAP)}", field="overlap")
    _check_limits(catchup_window_seconds=spec.catchup_window_seconds)


def _check_limits(**values: Any) -> None:
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError("must be a whole number", field=name)
        minimum = 1 if name in ("max_concurrent_runs", "timeout_seconds") else 0
        if value < minimum:
            raise ValidationError(f"must be >= {minimum}", field=name)
        if value > MAX_INT:
            raise ValidationError(f"must be <= {MAX_INT}", field=name)


def _schedule_view(s: Schedule | None) -> ScheduleView | None:
    if s is None:
        return None
    nxt = None if s.paused else next_fire(trigger(s.cron, s.timezone), utcnow())
    return ScheduleView(
        s.cron, s.timezone, s.paused, s.catchup, s.catchup_window_seconds, s.overlap, nxt
    )


def job_view(s: Session, job: Job, workspace: str) -> JobView:
    return job_views(s, [job], workspace)[0]


def job_views(s: Session, jobs: list[Job], workspace: str) -> list[JobView]:
    """The views of `jobs`, in a fixed number of queries whatever their count (five per job
    made a list of 2,000 jobs take 3 s)."""
    ids = [j.id for j in jobs]
    if not ids:
        return []
    versions = {
        v.job_id: v
        for v in s.scalars(
            select(JobVersion)
            .join(Job, Job.id == JobVersion.job_id)
            .where(JobVersion.job_id.in_(ids), JobVersion.version == Job.current_version)
        )
    }
    conn_ids = {j.connection_id for j in jobs if j.connection_id}
    conns = (
        {
            cid: name
            for cid, name in s.execute(
                select(Connection.id, Connection.name).where(Connection.id.in_(conn_ids))
            )
        }
        if conn_ids
        else {}
    )
    upstream = Job.__table__.alias("upstream")
    ups: dict[int, list[str]] = {}
    for job_id, name in s.execute(
        select(JobUpstream.job_id, upstream.c.name)
        .join(upstream, JobUpstream.upstream_job_id == upstream.c.id)
        .where(JobUpstream.job_id.in_(ids))
        .order_by(upstream.c.name)
    ):
        ups.setdefault(job_id, []).append(name)
    scheds = {sc.job_id: sc for sc in s.scalars(select(Schedule).where(Schedule.job_id.in_(ids)))}
    # The newest run of each job: one index lookup per job inside the database.
    newest = select(func.max(Run.id)).where(Run.job_id == Job.id).correlate(Job).scalar_subquery()
    last_ids = [r for r in s.scalars(select(newest).where(Job.id.in_(ids))) if r is not None]
    last = (
        {
            job_id: (state, queued)
            for job_id, state, queued in s.execute(
                select(Run.job_id, Run.state, Run.queued_at).where(Run.id.in_(last_ids))
            )
        }
        if last_ids
        else {}
    )
    out = []
    for job in jobs:
        version = versions.get(job.id)
        state, queued = last.get(job.id, (None, None))
        out.append(
            JobView(
                workspace,
                job.name,
                job.type,
                conns.get(job.connection_id) if job.connection_id else None,
                job.current_version,
                dict(version.definition) if version else {},
                job.description,
                job.timeout_seconds,
                job.max_retries,
                job.retry_backoff_seconds,
                job.retry_backoff_max_seconds,
                job.max_concurrent_runs,
                ups.get(job.id, []),
                _schedule_view(scheds.get(job.id)),
                state,
                queued,
                job.created_by,
            )
        )
    return out


def get_job(s: Session, workspace_id: int, name: str) -> Job:
    job = s.scalar(
        select(Job).where(
            Job.workspace_id == workspace_id, Job.name == name, Job.archived_at.is_(None)
        )
    )
    if job is None:
        raise NotFound(f"job {name!r} does not exist")
    return job


class JobService(Service):
    def __init__(self, deps: ServiceDeps, sql: Any = None) -> None:
        super().__init__(deps)
        self.sql = sql  # the SqlService whose rules a saved SQL job must pass

    def create(
        self,
        actor: Actor,
        workspace: str,
        name: str,
        type: str,
        definition: dict[str, Any],
        *,
        connection: str | None = None,
        description: str = "",
        timeout_seconds: int | None = None,
        max_retries: int = 0,
        retry_backoff_seconds: int = 60,
        retry_backoff_max_seconds: int = 3600,
        max_concurrent_runs: int = 1,
        upstream: list[str] | tuple[str, ...] = (),
        schedule: ScheduleSpec | None = None,
    ) -> JobView:
        """A new job, with its schedule when given: both in one transaction, or neither."""
        check_identifier(name)
        check_description(description)
        clean = check_definition(type, definition)
        if schedule is not None:
            schedule.check()
        _check_limits(
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            retry_backoff_seconds=retry_backoff_seconds,
            retry_backoff_max_seconds=retry_backoff_max_seconds,
            max_concurrent_runs=max_concurrent_runs,
        )
        if job_kinds.job_kind(type).statements is not None:
            with self.unit() as s:
                authorize(s, actor, "job.create", get_workspace(s, workspace))
            # outside: it reads the DB
            self._check_sql(actor, workspace, type, clean, connection)
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.create", ws)
            ensure_active(ws)
            if s.scalar(select(Job).where(Job.workspace_id == ws.id, Job.name == name)):
                raise Conflict(f"job {name!r} already exists in {workspace!r}")
            conn_id = self._connection(s, type, connection, ws.id)
            job = Job(
                workspace_id=ws.id,
                name=name,
                type=type,
                connection_id=conn_id,
                description=description,
                timeout_seconds=timeout_seconds,
                max_retries=max_retries,
                retry_backoff_seconds=retry_backoff_seconds,
                retry_backoff_max_seconds=retry_backoff_max_seconds,
                max_concurrent_runs=max_concurrent_runs,
                created_by=actor.username,
            )
            s.add(job)
            s.flush()
            s.add(JobVersion(job_id=job.id, version=1, definition=clean, created_by=actor.username))
            self._set_upstream(s, job, ws.id, upstream)
            details: dict[str, Any] = {
                "type": type,
                "connection": connection,
                "upstream": list(upstream),
            }
            if schedule is not None:
                _apply_schedule(s, job, schedule)
                details["schedule"] = schedule.details()
            s.flush()
            audit.record(s, actor, "job.create", "job", name, workspace=workspace, details=details)
            return job_view(s, job, workspace)

    def edit(
        self,
        actor: Actor,
        workspace: str,
        name: str,
        *,
        definition: dict[str, Any] | None = None,
        connection: str | None = None,
        description: str | None = None,
        upstream: list[str] | None = None,
        schedule: ScheduleSpec | None = None,
        **settings: Any,
    ) -> JobView:
        """Change a job (and its schedule when given) in one transaction; a changed
        definition becomes a new version."""
        allowed = {
            "timeout_seconds",
            "max_retries",
            "retry_backoff_seconds",
            "retry_backoff_max_seconds",
            "max_concurrent_runs",
        }
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise ValidationError("not a job setting", field=unknown[0])
        _check_limits(**settings)
        if schedule is not None:
            schedule.check()
        if definition is not None or connection is not None:
            self._check_edit(actor, workspace, name, definition, connection)
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.edit", ws)
            ensure_active(ws)
            job = get_job(s, ws.id, name)
            changes: dict[str, Any] = {}
            if definition is not None:
                current = s.scalar(
                    select(JobVersion).where(
                        JobVersion.job_id == job.id, JobVersion.version == job.current_version
                    )
                )
                # Keys given as None are removed, so a form can clear a field.
                merged = {
                    k: v
                    for k, v in {**(current.definition if current else {}), **definition}.items()
                    if v is not None
                }
                if "params" in definition and "param_types" not in definition:
                    # A form that edits only the parameters keeps the types of those left.
                    kept = merged.get("params") or {}
                    types = merged.get("param_types") or {}
                    merged["param_types"] = {k: v for k, v in types.items() if k in kept}
                clean = check_definition(job.type, merged)
                if current is None or clean != current.definition:
                    job.current_version += 1
                    s.add(
                        JobVersion(
                            job_id=job.id,
                            version=job.current_version,
                            definition=clean,
                            created_by=actor.username,
                        )
                    )
                    changes["version"] = job.current_version
            if connection is not None:
                job.connection_id = self._connection(s, job.type, connection or None, ws.id)
                changes["connection"] = connection or None
            if description is not None and description != job.description:
                check_description(description)
                job.description = changes["description"] = description
            for key, value in settings.items():
                if value is not None and getattr(job, key) != value:
                    setattr(job, key, value)
                    changes[key] = value
            if upstream is not None:
                self._set_upstream(s, job, ws.id, upstream)
                changes["upstream"] = list(upstream)
            if schedule is not None:
                _apply_schedule(s, job, schedule)
                changes["schedule"] = schedule.details()
            if changes:
                s.flush()
                audit.record(
                    s, actor, "job.edit", "job", name, workspace=workspace, details=changes
                )
            return job_view(s, job, workspace)

    def set_schedule(
        self,
        actor: Actor,
        workspace: str,
        name: str,
        cron: str,
        *,
        timezone: str = "UTC",
        catchup: str = "none",
        catchup_window_seconds: int = 86400,
        overlap: str = "skip",
        paused: bool = False,
    ) -> JobView:
        spec = ScheduleSpec(cron, timezone, catchup, catchup_window_seconds, overlap, paused)
        spec.check()
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.edit", ws)
            ensure_active(ws)
            job = get_job(s, ws.id, name)
            _apply_schedule(s, job, spec)
            s.flush()
            audit.record(
                s, actor, "job.schedule", "job", name, workspace=workspace, details=spec.details()
            )
            return job_view(s, job, workspace)

    def pause(self, actor: Actor, workspace: str, name: str, paused: bool = True) -> JobView:
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.pause", ws)
            ensure_active(ws)
            job = get_job(s, ws.id, name)
            sched = s.scalar(select(Schedule).where(Schedule.job_id == job.id))
            if sched is None:
                raise Conflict(f"job {name!r} has no schedule to pause or resume")
            if sched.paused == paused:
                raise Conflict(f"job {name!r} is already {'paused' if paused else 'active'}")
            sched.paused = paused
            sched.updated_at = utcnow()
            if not paused and sched.catchup == "none":
                sched.last_scheduled_for = utcnow()
            audit.record(
                s, actor, "job.pause" if paused else "job.resume", "job", name, workspace=workspace
            )
            return job_view(s, job, workspace)

    def get(self, actor: Actor, workspace: str, name: str) -> JobView:
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.show", ws)
            return job_view(s, get_job(s, ws.id, name), workspace)

    def list(self, actor: Actor, workspace: str) -> list[JobView]:
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.show", ws)
            jobs = s.scalars(
                select(Job)
                .where(Job.workspace_id == ws.id, Job.archived_at.is_(None))
                .order_by(Job.name)
            )
            return job_views(s, list(jobs), workspace)

    def versions(self, actor: Actor, workspace: str, name: str) -> builtins.list[dict[str, Any]]:
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.show", ws)
            job = get_job(s, ws.id, name)
            rows = s.scalars(
                select(JobVersion).where(JobVersion.job_id == job.id).order_by(JobVersion.version)
            )
            return [
                {
                    "version": v.version,
                    "created_at": v.created_at,
                    "created_by": v.created_by,
                    "definition": v.definition,
                }
                for v in rows
            ]

    # -- helpers ----------------------------------------------------------------------------

    def _check_edit(
        self,
        actor: Actor,
        workspace: str,
        name: str,
        definition: dict[str, Any] | None,
        connection: str | None,
    ) -> None:
        """The SQL rules for an edit, judged on the version it would make."""
        with self.unit() as s:
            ws = get_workspace(s, workspace)
            authorize(s, actor, "job.edit", ws)
            job = get_job(s, ws.id, name)
            kind = job_kinds.find(job.type)
            if kind is None or kind.statements is None:
                return  # it sends no SQL (an unknown kind is refused by check_definition)
            current = s.scalar(
                select(JobVersion.definition).where(
                    JobVersion.job_id == job.id, JobVersion.version == job.current_version
                )
            )
            if connection is None and job.connection_id:
                connection = s.scalar(
                    select(Connection.name).where(Connection.id == job.connection_id)
                )
        merged = {
            k: v for k, v in {**(current or {}), **(definition or {})}.items() if v is not None
        }
        clean = check_definition(job.type, merged)
        self._check_sql(actor, workspace, job.type, clean, connection or None)

    def _check_sql(
        self,
        actor: Actor,
        workspace: str,
        job_type: str,
        definition: dict[str, Any],
        connection: str | None,
    ) -> None:
        """Refuse at save what the runner would refuse to run (engine.sql_analysis.check),
        judged for the actor, who becomes the author of this version."""
        if self.sql is None:
            return
        from engine.services.separation import job_refusal

        ws = self.sql.workspaces.get(actor, workspace)
        refusal = job_refusal(self.sql, ws, job_type, definition, connection, actor.username)
        if refusal is not None:
            raise ValidationError(str(refusal), field="sql")

    @staticmethod
    def _connection(s: Session, job_type: str, name: str | None, ws_id: int) -> int | None:
        kind = job_kinds.job_kind(job_type)
        if not name:
            if kind.connection_required:
                raise ValidationError(
                    f"a {job_type} job needs a "
                    f"{' or '.join(ct.type_names(kind.connection_role))} connection",
                    field="connection",
                )
            return None  # the workspace's default (SQL: its connection, or embedded DuckDB)
        conn = s.scalar(select(Connection).where(Connection.name == name))
        if conn is None:
            raise ValidationError(f"connection {name!r} does not exist", field="connection")
        kinds = ct.type_names(kind.connection_role)
        if conn.type not in kinds:
            raise ValidationError(
                f"a {job_type} job cannot run on a {conn.type} connection; use "
                f"{' or '.join(kinds)}",
                field="connection",
            )
        if conn.workspace_id not in (None, ws_id):
            raise ValidationError(
                f"connection {name!r} belongs to another workspace", field="connection"
            )
        return conn.id

    @staticmethod
    def _set_upstream(
        s: Session, job: Job, ws_id: int, names: builtins.list[str] | tuple[str, ...]
    ) -> None:
        ids = []
        for up in names:
            other = s.scalar(select(Job).where(Job.workspace_id == ws_id, Job.name == up))
            if other is None:
                raise ValidationError(
                    f"upstream job {up!r} does not exist in this workspace", field="upstream"
                )
            if other.id == job.id:
                raise ValidationError("a job cannot be its own upstream", field="upstream")
            ids.append(other.id)
        edges = {
            (a, b)
            for a, b in s.execute(
                select(JobUpstream.job_id, JobUpstream.upstream_job_id)
                .join(Job, Job.id == JobUpstream.job_id)
                .where(Job.workspace_id == ws_id)
            )
            if a != job.id
        }
        edges |= {(job.id, i) for i in ids}
        # Depth-first from the job along upstream edges: reaching the job again is a cycle.
        graph: dict[int, list[int]] = {}
        for a, b in edges:
            graph.setdefault(a, []).append(b)
        stack, seen = list(graph.get(job.id, [])), set()
        while stack:
            node = stack.pop()
            if node == job.id:
                raise ValidationError("these upstream jobs would make a cycle", "upstream")
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, []))
        for old in s.scalars(select(JobUpstream).where(JobUpstream.job_id == job.id)):
            s.delete(old)
        s.flush()
        for i in ids:
            s.add(JobUpstream(job_id=job.id, upstream_job_id=i))


def _apply_schedule(s: Session, job: Job, spec: ScheduleSpec) -> None:
    """Create or replace the job's schedule (already checked) in the caller's transaction."""
    sched = s.scalar(select(Schedule).where(Schedule.job_id == job.id))
    if sched is None:
        # Start from now: a new schedule does not catch up on its own past.
        sched = Schedule(job_id=job.id, last_scheduled_for=utcnow(), cron=spec.cron)
        s.add(sched)
    sched.cron, sched.timezone, sched.paused = spec.cron, spec.timezone, spec.paused
    sched.catchup, sched.catchup_window_seconds = spec.catchup, spec.catchup_window_seconds
    sched.overlap = spec.overlap
    sched.updated_at = utcnow()
