"""What the services return and take: plain dataclasses, nothing of the database.

They travel on the wire as themselves (engine.api.codec decodes only these), so a thin
client of a running engine builds them without importing SQLAlchemy or the models: this
module imports nothing but the standard library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class MemberView:
    username: str
    role: str


@dataclass(frozen=True)
class WorkspaceView:
    name: str
    description: str
    bucket: str
    prefix: str
    layers: list[str]
    archived: bool
    created_at: datetime
    created_by: str
    storage_connection: str | None
    catalog_connection: str | None
    sql_connection: str | None
    members: list[MemberView]

    def namespace(self, layer: str) -> str:
        """The Iceberg namespace of one medallion layer, `<workspace>_<layer>`."""
        return f"{self.name}_{layer}"

    @property
    def namespaces(self) -> list[str]:
        return [self.namespace(layer) for layer in self.layers]


@dataclass(frozen=True)
class ConnectionView:
    name: str
    type: str
    workspace: str | None
    config: dict[str, Any]  # secret fields masked
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str


@dataclass(frozen=True)
class ConnectionHealth:
    name: str
    type: str
    ok: bool
    latency_ms: float | None
    version: str | None
    detail: str
    error_kind: str | None
    checked_at: datetime


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    platform_role: str
    has_password: bool
    is_active: bool
    created_at: datetime
    workspaces: dict[str, str]  # workspace name -> role


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    username: str
    source: str
    action: str
    target_type: str
    target: str
    workspace: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as a caller asks for it; checked whole before anything is written."""

    cron: str
    timezone: str = "UTC"
    catchup: str = "none"
    catchup_window_seconds: int = 86400
    overlap: str = "skip"
    paused: bool = False

    def check(self) -> None:
        """The jobs service's rules (cron, time zone, policies, limits)."""
        from engine.services.jobs import check_schedule

        check_schedule(self)

    def details(self) -> dict[str, Any]:
        return {
            "cron": self.cron,
            "timezone": self.timezone,
            "catchup": self.catchup,
            "overlap": self.overlap,
            "paused": self.paused,
        }


@dataclass(frozen=True)
class ScheduleView:
    cron: str
    timezone: str
    paused: bool
    catchup: str
    catchup_window_seconds: int
    overlap: str
    next_fire: datetime | None


@dataclass(frozen=True)
class JobView:
    workspace: str
    name: str
    type: str
    connection: str | None
    version: int
    definition: dict[str, Any]
    description: str
    timeout_seconds: int | None
    max_retries: int
    retry_backoff_seconds: int
    retry_backoff_max_seconds: int
    max_concurrent_runs: int
    upstream: list[str]
    schedule: ScheduleView | None
    last_run_state: str | None
    last_run_at: datetime | None
    created_by: str


@dataclass(frozen=True)
class HistoryView:
    id: int
    username: str
    workspace: str | None
    connection: str | None
    sql: str
    state: str
    started_at: datetime
    duration_ms: int | None
    rows: int | None
    query_id: str | None
    error: str | None


@dataclass(frozen=True)
class ScriptStatement:
    """One statement of a script: its text and where it starts in the script."""

    index: int  # 1-based
    count: int  # statements in the script
    sql: str
    line: int  # 1-based line of its first character in the script
    column: int  # 1-based column of its first character

    @property
    def label(self) -> str:
        """`statement 2 of 3`, the prefix of its errors when the script has several."""
        return f"statement {self.index} of {self.count}"


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    name: str
    read_only: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    """What `token create` shows once: the token itself, and its row."""

    token: str
    view: TokenView


@dataclass(frozen=True)
class EngineStatus:
    lease_holder: str | None
    lease_expires_at: datetime | None
    heartbeat_age_s: float | None
    queue_depth: int
    running: int
    engines: list[dict]
    # `console` or `daemon`: what holds the lease (None when nobody does).
    lease_holder_kind: str | None = None
    # Engines whose heartbeat is younger than the lease: the ones that can run queued runs.
    # A killed process keeps its row, not stopped, until nothing remembers it.
    engines_alive: int = 0


@dataclass(frozen=True)
class Step:
    kind: str  # bucket | marker | namespace
    target: str
    state: str  # exists | missing | conflict | created | failed
    detail: str = ""


@dataclass
class Plan:
    workspace: str
    steps: list[Step] = field(default_factory=list)

    @property
    def missing(self) -> list[Step]:
        return [s for s in self.steps if s.state == "missing"]

    @property
    def conflicts(self) -> list[Step]:
        return [s for s in self.steps if s.state == "conflict"]

    @property
    def complete(self) -> bool:
        return all(s.state in ("exists", "created") for s in self.steps)


@dataclass(frozen=True)
class Violation:
    kind: str  # table_outside_prefix | foreign_namespace | orphan_namespace | job_crosses |
    #            job_refused | connection_shared | catalog_unavailable | unchecked
    workspace: str | None
    subject: str
    detail: str


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
