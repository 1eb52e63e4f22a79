"""Connection tests and the health summary: reachability, auth, version, latency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from engine.backends import factory
from engine.backends.base import HealthResult
from engine.context import Actor
from engine.errors import BackendError, SadeemError
from engine.models import Connection, Workspace, utcnow
from engine.services.base import Service, authorize
from engine.services.connections import ConnectionService
from engine.services.lakehouse import Lakehouse


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


def _health(name: str, conn_type: str, result: HealthResult) -> ConnectionHealth:
    return ConnectionHealth(
        name,
        conn_type,
        result.ok,
        round(result.latency_ms, 1) if result.latency_ms is not None else None,
        result.version,
        result.detail,
        result.error_kind,
        utcnow(),
    )


def probe(conn_type: str, config: dict[str, Any], ctx: Any) -> HealthResult:
    """Test one resolved config. Every failure becomes a HealthResult, never an exception."""
    try:
        if conn_type == "s3":
            return factory.object_store(conn_type, config).test(config.get("bucket"))
        if conn_type in ("iceberg_rest", "iceberg_sql"):
            return factory.catalog(conn_type, config).test()
        if conn_type in ("trino", "duckdb"):
            # The engine answering is the test; no catalog is needed for it. Closed at
            # once, so a check every minute holds no DuckDB (~30 MiB) between checks.
            backend = factory.sql_backend(conn_type, config)
            try:
                return backend.test()
            finally:
                backend.close()
        if conn_type in ("spark_operator", "spark_local"):
            return factory.batch_backend(conn_type, config, ctx.settings.data_dir).test()
        if conn_type == "postgres":
            from engine.backends.postgres import PostgresBackend

            return PostgresBackend(**config).test()
    except BackendError as exc:
        return HealthResult(False, detail=str(exc), error_kind=exc.kind)
    except SadeemError as exc:
        return HealthResult(False, detail=str(exc), error_kind="error")
    return HealthResult(False, detail=f"no test for {conn_type}", error_kind="error")


class HealthService(Service):
    def __init__(self, ctx, connections: ConnectionService, lakehouse: Lakehouse) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.connections = connections
        self.lakehouse = lakehouse

    def test(self, actor: Actor, name: str) -> ConnectionHealth:
        """Test one connection the actor can see."""
        with self.unit() as s:
            conn = s.scalar(select(Connection).where(Connection.name == name))
            ws = s.get(Workspace, conn.workspace_id) if conn and conn.workspace_id else None
            if conn is not None and ws is not None:
                authorize(s, actor, "connection.test", ws)
        view = self.connections.get(actor, name)  # NotFound for connections out of sight
        try:
            resolved = self.connections.resolve(actor, name)
        except SadeemError as exc:  # an unresolvable secret is a failed test, not a crash
            return _health(
                view.name, view.type, HealthResult(False, detail=str(exc), error_kind="secret")
            )
        return _health(name, resolved.type, probe(resolved.type, resolved.config, self.ctx))

    def embedded(self) -> list[ConnectionHealth]:
        """The metadata database and the embedded catalog and SQL engine."""
        out = []
        start = time.perf_counter()
        try:
            with self.ctx.db.engine.connect() as c:
                c.execute(text("SELECT 1"))
            result = HealthResult(
                True,
                (time.perf_counter() - start) * 1000,
                f"{self.ctx.db.dialect}",
                "metadata database",
            )
        except Exception as exc:  # the DB driver's error class varies by dialect
            result = HealthResult(False, detail=exc.__class__.__name__, error_kind="error")
        out.append(_health("metadata", self.ctx.db.dialect, result))
        try:
            out.append(
                _health("embedded_catalog", "iceberg_sql", self.lakehouse.embedded_catalog().test())
            )
        except SadeemError as exc:
            out.append(
                _health(
                    "embedded_catalog",
                    "iceberg_sql",
                    HealthResult(False, detail=str(exc), error_kind="error"),
                )
            )
        out.append(_health("embedded_sql", "duckdb", probe("duckdb", {}, self.ctx)))
        return out

    def check_all(self, actor: Actor) -> list[ConnectionHealth]:
        """Every connection the actor can see, plus the embedded defaults."""
        names = [conn.name for conn in self.connections.list(actor)]
        if not names:
            return self.embedded()
        # In parallel: one unreachable host must not hold up the others' results.
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            tested = list(pool.map(lambda name: self.test(actor, name), names))
        return self.embedded() + tested
