"""Open an engine: settings -> metadata DB (migrated) -> secrets -> services."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import migrations
from engine.db import Database, stored_revision
from engine.errors import MetadataUnavailable, SadeemError, ValidationError
from engine.secrets import SecretBox, SecretPolicy
from engine.services.base import ServiceDeps
from engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from engine.services.audit import AuditService
    from engine.services.catalog import CatalogService
    from engine.services.catalog_guard import CatalogGuard
    from engine.services.connections import ConnectionService
    from engine.services.demo import DemoService
    from engine.services.engine_state import EngineStateService
    from engine.services.health import HealthService
    from engine.services.jobs import JobService
    from engine.services.lakehouse import Lakehouse
    from engine.services.provisioning import ProvisioningService
    from engine.services.run_queue import RunQueue
    from engine.services.runs import RunService
    from engine.services.separation import SeparationService
    from engine.services.sql import SqlService
    from engine.services.tokens import TokenService
    from engine.services.users import UserService
    from engine.services.wake import Wake
    from engine.services.workspaces import WorkspaceService

T = TypeVar("T")


class _Lazy(Generic[T]):
    """A service built (and its module imported) on first use, once per Services: a
    command uses a few of the fifteen, and `sadeem sql -e` should not import the
    scheduler's, the runs' and the provisioning's code. Built under the Services' lock
    (re-entrant: a service's factory asks for the services it needs), so two threads
    never build two of one (two Lakehouses would be two DuckDB caches)."""

    def __init__(self, build: Callable[[Services], T]) -> None:
        self.build = build

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Services | None, owner: type) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        built: dict[str, Any] = obj._built
        if self.name not in built:
            with obj._lock:
                if self.name not in built:
                    built[self.name] = self.build(obj)
        return built[self.name]


def _audit(s: Services) -> AuditService:
    from engine.services.audit import AuditService

    return AuditService(s.deps)


def _catalog(s: Services) -> CatalogService:
    from engine.services.catalog import CatalogService

    return CatalogService(s.deps, s.workspaces, s.lakehouse)


def _catalog_guard(s: Services) -> CatalogGuard:
    from engine.services.catalog_guard import CatalogGuard

    return CatalogGuard(s.deps)


def _connections(s: Services) -> ConnectionService:
    from engine.services.connections import ConnectionService

    return ConnectionService(s.deps)


def _demo(s: Services) -> DemoService:
    from engine.services.demo import DemoService

    return DemoService(s.deps, s)


def _engine_state(s: Services) -> EngineStateService:
    from engine.services.engine_state import EngineStateService

    return EngineStateService(s.deps)


def _health(s: Services) -> HealthService:
    from engine.services.health import HealthService

    return HealthService(s.deps, s.connections, s.lakehouse)


def _jobs(s: Services) -> JobService:
    from engine.services.jobs import JobService

    return JobService(s.deps, s.sql)  # saved SQL must pass the SQL rules


def _lakehouse(s: Services) -> Lakehouse:
    from engine.services.lakehouse import Lakehouse

    return Lakehouse(s.deps, s.connections, s.catalog_guard)


def _provisioning(s: Services) -> ProvisioningService:
    from engine.services.provisioning import ProvisioningService

    return ProvisioningService(s.deps, s.workspaces, s.lakehouse)


def _runs(s: Services) -> RunService:
    from engine.services.runs import RunService

    return RunService(s.deps, s.wake)


def _queue(s: Services) -> RunQueue:
    from engine.services.run_queue import RunQueue

    return RunQueue(s.deps, s.wake)


def _wake(s: Services) -> Wake:
    from engine.services.wake import Wake

    # One per process: a run queued by a user's RunService, or a slot freed by the
    # engine's RunQueue, wakes the dispatcher waiting on it.
    return Wake(s.deps.db)


def _tokens(s: Services) -> TokenService:
    from engine.services.tokens import TokenService

    return TokenService(s.deps)


def _separation(s: Services) -> SeparationService:
    from engine.services.separation import SeparationService

    return SeparationService(s.deps, s.workspaces, s.lakehouse)


def _sql(s: Services) -> SqlService:
    from engine.services.sql import SqlService

    return SqlService(s.deps, s.workspaces, s.lakehouse)


def _users(s: Services) -> UserService:
    from engine.services.users import UserService

    return UserService(s.deps)


def _workspaces(s: Services) -> WorkspaceService:
    from engine.services.workspaces import WorkspaceService

    return WorkspaceService(s.deps)


class Services:
    """Every use case of Sadeem, grouped by subject. The TUI, CLI and runner go through here."""

    workspaces = _Lazy(_workspaces)
    connections = _Lazy(_connections)
    users = _Lazy(_users)
    audit = _Lazy(_audit)
    catalog_guard = _Lazy(_catalog_guard)
    lakehouse = _Lazy(_lakehouse)
    provisioning = _Lazy(_provisioning)
    separation = _Lazy(_separation)
    catalog = _Lazy(_catalog)
    sql = _Lazy(_sql)
    health = _Lazy(_health)
    jobs = _Lazy(_jobs)
    runs = _Lazy(_runs)  # users' verbs: trigger, list, logs, cancel, retry
    queue = _Lazy(_queue)  # the engine's: claims, outcomes, schedule fires, plans
    wake = _Lazy(_wake)
    tokens = _Lazy(_tokens)
    engine_state = _Lazy(_engine_state)
    demo = _Lazy(_demo)

    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps
        self._built: dict[str, Any] = {}
        self._lock = threading.RLock()

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def db(self) -> Database:
        return self.deps.db

    def close(self) -> None:
        if "sql" in self._built:  # its history rows still pending are written first
            self._built["sql"].close()
        if "wake" in self._built:  # its LISTEN and NOTIFY connections, on PostgreSQL
            self._built["wake"].close()
        if "lakehouse" in self._built:  # nothing to close in one never built
            self._built["lakehouse"].close()
        self.deps.db.dispose()


def prepare_data_dir(path: Path) -> None:
    """Create the data dir (0700), or a ValidationError saying why it cannot be used: a
    file on its path, a read-only mount (chmod fails there, even for root), /proc."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else exc.__class__.__name__
        raise ValidationError(
            f"cannot use {path} as the data directory: {reason}", "data_dir"
        ) from None
    if not path.is_dir():
        raise ValidationError(f"cannot use {path} as the data directory: not a directory")


def open_services(settings: Settings | None = None, *, migrate: bool | None = None) -> Services:
    """Open the metadata DB. The embedded SQLite DB is upgraded automatically; a server DB is
    upgraded only when asked (`sadeem db upgrade`), and refused when behind."""
    settings = settings or load_settings()
    prepare_data_dir(settings.data_dir)
    db = Database(settings.effective_database_url)
    try:
        db.check()
    except SadeemError:
        db.dispose()
        raise
    if migrate is None:
        migrate = settings.is_embedded_db
    if migrate:
        db.upgrade()
    else:
        have, want = stored_revision(db.engine), migrations.HEAD
        if have != want:
            db.dispose()
            raise MetadataUnavailable(
                f"the metadata database is at schema {have or 'empty'}, this Sadeem needs "
                f"{want}; run `sadeem db upgrade`"
            )
    secrets = SecretBox(
        settings.data_dir, settings.secret_key, policy=SecretPolicy.from_settings(settings)
    )
    return Services(ServiceDeps(settings, db, secrets))
