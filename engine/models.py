"""The metadata database schema: SQLAlchemy 2 models, one place.

Only services write these tables. Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.run_states import RunState, Trigger

# Deterministic constraint names so Alembic migrations are stable on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger ids on PostgreSQL, INTEGER on SQLite so ids still autoincrement there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: type[RunState] | type[Trigger]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # `admin` stands above all workspaces; `user` gets rights only through memberships.
    platform_role: Mapped[str] = mapped_column(String(16), default="user")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    bucket: Mapped[str] = mapped_column(String(63))
    prefix: Mapped[str] = mapped_column(String(255))
    layers: Mapped[list[Any]] = mapped_column(default=lambda: ["bronze", "silver", "gold"])
    # Default connections for the workspace's storage, catalog and SQL (None = embedded).
    # Plain ids, not foreign keys (connections already point at workspaces); the connection
    # service refuses to delete a connection a workspace still uses.
    storage_connection_id: Mapped[int | None] = mapped_column(BigId)
    catalog_connection_id: Mapped[int | None] = mapped_column(BigId)
    sql_connection_id: Mapped[int | None] = mapped_column(BigId)
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    members: Mapped[list[WorkspaceMember]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan"
    )


class WorkspaceMember(Base):
    __tablename__ = "workspace_members"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))  # owner | editor | runner | viewer
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    workspace: Mapped[Workspace] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Connection(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    # None: platform-wide shared infrastructure; else owned by (and visible to) one workspace.
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # Validated config; secret fields hold references (env:/file:/k8s:/enc:), never clear text.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(16))  # a job kind (engine.job_kinds)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(Text, default="")
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    retry_backoff_seconds: Mapped[int] = mapped_column(Integer, default=60)
    retry_backoff_max_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    max_concurrent_runs: Mapped[int] = mapped_column(Integer, default=1)
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    versions: Mapped[list[JobVersion]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobVersion.version"
    )


class JobVersion(Base):
    """An immutable definition; editing a job adds a version, runs point at the one they ran."""

    __tablename__ = "job_versions"
    __table_args__ = (UniqueConstraint("job_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # the keys its kind declares, plus params and param_types (engine.job_kinds)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    job: Mapped[Job] = relationship(back_populates="versions")


class JobUpstream(Base):
    """Job `job_id` runs when every upstream run of the same logical date succeeded."""

    __tablename__ = "job_upstreams"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    upstream_job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    catchup: Mapped[str] = mapped_column(String(16), default="none")  # none | latest | all
    catchup_window_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    overlap: Mapped[str] = mapped_column(String(16), default="skip")  # skip | queue
    # The latest fire time handled, so a restarted engine knows what it missed.
    last_scheduled_for: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Run(Base):
    __tablename__ = "runs"
    # Two engines firing the same schedule collide here instead of creating two runs.
    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_for"),
        Index("ix_runs_state_queued_at", "state", "queued_at"),
        Index("ix_runs_job_id_queued_at", "job_id", "queued_at"),
        Index("ix_runs_workspace_id_queued_at", "workspace_id", "queued_at"),
        # The runs list pages newest-first by id under each filter: one index per filter
        # shape reads exactly the page (job+state was 145 ms over 1M runs without).
        Index("ix_runs_workspace_id_id", "workspace_id", "id"),
        Index("ix_runs_workspace_id_state_id", "workspace_id", "state", "id"),
        Index("ix_runs_job_id_id", "job_id", "id"),
        Index("ix_runs_job_id_state_id", "job_id", "state", "id"),
        # The database refuses a state or trigger the lifecycle does not name (migration 0006).
        CheckConstraint(_in("state", RunState), name="state"),
        CheckConstraint(_in('"trigger"', Trigger), name="trigger"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    job_version_id: Mapped[int] = mapped_column(ForeignKey("job_versions.id"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # a Trigger
    state: Mapped[str] = mapped_column(String(16), default=RunState.QUEUED.value)
    scheduled_for: Mapped[datetime | None]
    logical_date: Mapped[str | None] = mapped_column(String(32))  # `ds`, e.g. 2026-11-24
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    retry_of_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    not_before: Mapped[datetime | None]  # retry backoff: not claimed before this time
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Engine instance that executes the run; its heartbeat says whether anyone still owns it.
    owner: Mapped[str | None] = mapped_column(String(128), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))


class RunLogChunk(Base):
    __tablename__ = "run_log_chunks"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # The trail is listed newest first (`at`, then id) under each filter: an index per
    # filter, ending in the order, reads just the page (a user's events, a week-old day).
    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_username_at_id", "username", "at", "id"),
        Index("ix_audit_events_workspace_at_id", "workspace", "at", "id"),
        Index("ix_audit_events_action_at_id", "action", "at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    # The workspace's name (not id) so the trail stays readable after an archive.
    workspace: Mapped[str | None] = mapped_column(String(63))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lease(Base):
    """A named lease (e.g. `scheduler`): one holder until `expires_at`, renewed by heartbeat."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class EngineInstance(Base):
    """A running engine process; runs it owns are reconciled when its heartbeat goes stale."""

    __tablename__ = "engine_instances"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]


class QueryHistory(Base):
    """Interactive SQL statements, per user and workspace, for the editor's history."""

    __tablename__ = "query_history"
    __table_args__ = (Index("ix_query_history_username_started_at", "username", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    workspace: Mapped[str | None] = mapped_column(String(63))
    connection: Mapped[str | None] = mapped_column(String(63))
    sql: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # succeeded | failed | cancelled
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    query_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)


class CatalogIdentity(Base):
    """The identity written into the embedded Iceberg catalog when it was first created:
    a catalog.db without it (deleted and recreated, another site's, zeroed) is not the one
    this site's workspaces live in, and the engine refuses it (engine/services/catalog_guard)."""

    __tablename__ = "catalog_identities"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)  # `embedded`
    identity: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A personal access token for the engine's HTTP API. Only its SHA-256 is stored: the
    token itself is shown once, when created, and cannot be read back from here."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
