"""A workspace's view of the lakehouse: its object store, catalog and SQL engine.

Each comes from the workspace's default connection, or the embedded default (a local
directory store, the Iceberg SQL catalog in the data dir, DuckDB) when it names none.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from engine.backends import factory
from engine.backends.base import CatalogBackend, ObjectStore, SqlBackend
from engine.context import Actor
from engine.services.base import Service
from engine.services.connections import ConnectionService
from engine.services.workspaces import WorkspaceView


@dataclass(frozen=True)
class Layer:
    name: str
    namespace: str  # `<workspace>_<layer>`
    location: str  # URI under the workspace prefix


class Lakehouse(Service):
    """Builds the backends a workspace uses. Callers have already checked the actor's role."""

    def __init__(self, ctx, connections: ConnectionService) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.connections = connections
        self._embedded_catalog: CatalogBackend | None = None
        self._duckdb: dict[str, SqlBackend] = {}
        self._duckdb_lock = threading.Lock()

    def store(self, actor: Actor | None, ws: WorkspaceView) -> ObjectStore:
        if ws.storage_connection:
            conn = self.connections.resolve(actor, ws.storage_connection, ws.name)
            return factory.object_store(conn.type, conn.config)
        return factory.local_store(self.ctx.settings.data_dir)

    def catalog(self, actor: Actor | None, ws: WorkspaceView) -> CatalogBackend:
        if ws.catalog_connection:
            conn = self.connections.resolve(actor, ws.catalog_connection, ws.name)
            return factory.catalog(conn.type, conn.config, name=conn.name)
        return self.embedded_catalog()

    def embedded_catalog(self) -> CatalogBackend:
        # One instance per engine: the SQL catalog holds a SQLAlchemy engine of its own.
        if self._embedded_catalog is None:
            self._embedded_catalog = factory.embedded_catalog(self.ctx.settings.data_dir)
        return self._embedded_catalog

    def sql(
        self, actor: Actor | None, ws: WorkspaceView, connection: str | None = None
    ) -> tuple[str, SqlBackend]:
        """(connection name, backend) for the given or the workspace's SQL connection."""
        name = connection or ws.sql_connection
        if name:
            conn = self.connections.resolve(actor, name, ws.name)
            if conn.type != "duckdb":
                return conn.name, factory.sql_backend(conn.type, conn.config)
            return conn.name, self._duckdb_for(actor, ws, conn.name, conn.config)
        return "embedded", self._duckdb_for(actor, ws, "embedded", {})

    def _duckdb_for(
        self, actor: Actor | None, ws: WorkspaceView, name: str, config: dict
    ) -> SqlBackend:
        """One in-process DuckDB per workspace and connection, shared by the console, the
        CLI and the runner of this engine: a new DuckDB costs ~30 MiB and ~0.1 s, and its
        views of the workspace's tables stay valid until a table's snapshot changes. A
        workspace never shares one with another, so no view of one is seen by the other."""
        catalog_config = (
            self.connections.resolve(actor, ws.catalog_connection, ws.name).config
            if ws.catalog_connection
            else None
        )
        # An edited connection (its config is in the key) gets a DuckDB of its own.
        key = json.dumps([ws.name, name, config, catalog_config], default=str, sort_keys=True)
        with self._duckdb_lock:
            backend = self._duckdb.get(key)
            if backend is None:
                catalog = self.catalog(actor, ws)
                backend = factory.sql_backend("duckdb", config, catalog, shared=True)
                self._duckdb[key] = backend
            return backend

    def close(self) -> None:
        """Close the shared DuckDB engines (the engine is stopping)."""
        with self._duckdb_lock:
            backends, self._duckdb = list(self._duckdb.values()), {}
        for backend in backends:
            backend.shutdown()  # type: ignore[attr-defined]

    def layers(self, actor: Actor, ws: WorkspaceView) -> list[Layer]:
        base = self.store(actor, ws).uri(ws.bucket, ws.prefix).rstrip("/")
        return [Layer(layer, ws.namespace(layer), f"{base}/{layer}") for layer in ws.layers]

    def workspace_uri(self, actor: Actor, ws: WorkspaceView) -> str:
        return self.store(actor, ws).uri(ws.bucket, ws.prefix).rstrip("/")
