"""Open an engine: settings -> metadata DB (migrated) -> secrets -> services."""

from __future__ import annotations

import os

import migrations
from engine.db import Database, stored_revision
from engine.errors import SadeemError
from engine.secrets import SecretBox
from engine.services.audit import AuditService
from engine.services.base import EngineContext
from engine.services.catalog import CatalogService
from engine.services.connections import ConnectionService
from engine.services.demo import DemoService
from engine.services.engine_state import EngineStateService
from engine.services.health import HealthService
from engine.services.jobs import JobService
from engine.services.lakehouse import Lakehouse
from engine.services.provisioning import ProvisioningService
from engine.services.runs import RunService
from engine.services.separation import SeparationService
from engine.services.sql import SqlService
from engine.services.users import UserService
from engine.services.workspaces import WorkspaceService
from engine.settings import Settings, load_settings


class Services:
    """Every use case of Sadeem, grouped by subject. The TUI, CLI and runner go through here."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.workspaces = WorkspaceService(ctx)
        self.connections = ConnectionService(ctx)
        self.users = UserService(ctx)
        self.audit = AuditService(ctx)
        self.lakehouse = Lakehouse(ctx, self.connections)
        self.provisioning = ProvisioningService(ctx, self.workspaces, self.lakehouse)
        self.separation = SeparationService(ctx, self.workspaces, self.lakehouse)
        self.catalog = CatalogService(ctx, self.workspaces, self.lakehouse)
        self.sql = SqlService(ctx, self.workspaces, self.lakehouse)
        self.health = HealthService(ctx, self.connections, self.lakehouse)
        self.jobs = JobService(ctx)
        self.runs = RunService(ctx)
        self.engine_state = EngineStateService(ctx)
        self.demo = DemoService(ctx, self)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def db(self) -> Database:
        return self.ctx.db

    def close(self) -> None:
        self.lakehouse.close()
        self.ctx.db.dispose()


def open_engine(settings: Settings | None = None, *, migrate: bool | None = None) -> Services:
    """Open the metadata DB. The embedded SQLite DB is upgraded automatically; a server DB is
    upgraded only when asked (`sadeem db upgrade`), and refused when behind."""
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    db = Database(settings.effective_database_url)
    if migrate is None:
        migrate = settings.is_embedded_db
    if migrate:
        db.upgrade()
    else:
        have, want = stored_revision(db.engine), migrations.HEAD
        if have != want:
            db.dispose()
            raise SadeemError(
                f"the metadata database is at schema {have or 'empty'}, this Sadeem needs "
                f"{want}; run `sadeem db upgrade`"
            )
    secrets = SecretBox(settings.data_dir, settings.secret_key)
    return Services(EngineContext(settings, db, secrets))
