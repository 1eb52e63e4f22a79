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
from engine.backends.kinds import BuildInputs
from engine.backends.pool import BackendPool
from engine.context import Actor
from engine.services.base import Service, ServiceDeps
from engine.services.catalog_guard import CatalogGuard
from engine.services.connections import ConnectionService
from engine.services.workspaces import WorkspaceView


@dataclass(frozen=True)
class Layer:
    name: str
    namespace: str  # `<workspace>_<layer>`
    location: str  # URI under the workspace prefix


class Lakehouse(Service):
    """Builds the backends a workspace uses. Callers have already checked the actor's role."""

    def __init__(
        self, deps: ServiceDeps, connections: ConnectionService, guard: CatalogGuard
    ) -> None:
        super().__init__(deps)
        self.connections = connections
        self.guard = guard
        self._embedded_catalog: CatalogBackend | None = None
        self._catalog_lock = threading.Lock()
        self.pool = BackendPool()

    def store(self, actor: Actor | None, ws: WorkspaceView) -> ObjectStore:
        if ws.storage_connection:
            conn = self.connections.resolve(actor, ws.storage_connection, ws.name)
            return self.pool.get(
                ("storage", conn.name),
                _fingerprint(conn.type, conn.config),
                lambda: factory.object_store(conn.type, conn.config, self.deps.settings.data_dir),
            )
        return factory.local_store(self.deps.settings.data_dir)

    def catalog(self, actor: Actor | None, ws: WorkspaceView) -> CatalogBackend:
        if ws.catalog_connection:
            conn = self.connections.resolve(actor, ws.catalog_connection, ws.name)
            # Shared: a catalog holds its client (pyiceberg, a SQLAlchemy engine) between
            # calls, and the catalog it names is its kind's field, never the connection's name.
            return self.pool.get(
                ("catalog", conn.name),
                _fingerprint(conn.type, conn.config),
                lambda: factory.catalog(conn.type, conn.config, self.deps.settings.data_dir),
            )
        return self.embedded_catalog()

    def embedded_catalog(self) -> CatalogBackend:
        """The embedded catalog, refused (CatalogUnavailable) when catalog.db is missing or
        not this site's: see engine/services/catalog_guard.py."""
        # One instance per engine: the SQL catalog holds a SQLAlchemy engine of its own.
        with self._catalog_lock:
            if self._embedded_catalog is None:
                self._embedded_catalog = self.guard.open()
            catalog = self._embedded_catalog
        self.guard.check()  # a stat(): the file may have gone since the last statement
        return catalog

    def sql(
        self, actor: Actor | None, ws: WorkspaceView, connection: str | None = None
    ) -> tuple[str, SqlBackend]:
        """(connection name, backend) for the given or the workspace's SQL connection.

        One backend per workspace and connection, shared by the console, the CLI and the
        runner of this engine (the pool closes it): a new DuckDB costs ~30 MiB and ~0.1 s,
        and its views of the workspace's tables stay valid until a table's snapshot
        changes. A workspace never shares one with another, so no view of one is seen by
        the other. Callers never close it."""
        name = connection or ws.sql_connection
        if name:
            conn = self.connections.resolve(actor, name, ws.name)
            conn_name, conn_type, config = conn.name, conn.type, conn.config
        else:
            conn_name, conn_type, config = "embedded", factory.EMBEDDED_SQL, {}
        kind = factory.kind_with_role(conn_type, "sql")
        catalog_config: dict | None = None
        storage: list[str | None] = []
        if kind.reads_catalog:
            if ws.catalog_connection:
                catalog_config = self.connections.resolve(
                    actor, ws.catalog_connection, ws.name
                ).config
            else:
                # Before each statement, not only when its backend is built: a deleted or
                # replaced catalog is refused with its own message, not as "table does not
                # exist".
                self.embedded_catalog()
            storage = [ws.storage_connection, ws.bucket, ws.prefix]
        # An edited connection (of the engine, or of the catalog and storage it reads) gets
        # a new backend, and the pool closes the old one.
        fingerprint = _fingerprint(conn_type, config, catalog_config, storage)

        def build() -> SqlBackend:
            context = BuildInputs(self.deps.settings.data_dir)
            if kind.reads_catalog:
                context = BuildInputs(
                    self.deps.settings.data_dir,
                    catalog=self.catalog(actor, ws),
                    workspace=ws.name,
                    workspace_uri=self.workspace_uri(actor, ws),  # its sandbox
                )
            return factory.sql_backend(conn_type, config, context)

        return conn_name, self.pool.get(("sql", ws.name, conn_name), fingerprint, build)

    def close(self) -> None:
        """Close every backend the pool holds (the engine is stopping)."""
        self.pool.close()

    def layers(self, actor: Actor, ws: WorkspaceView) -> list[Layer]:
        base = self.store(actor, ws).uri(ws.bucket, ws.prefix).rstrip("/")
        return [Layer(layer, ws.namespace(layer), f"{base}/{layer}") for layer in ws.layers]

    def workspace_uri(self, actor: Actor | None, ws: WorkspaceView) -> str:
        return self.store(actor, ws).uri(ws.bucket, ws.prefix).rstrip("/")


def _fingerprint(*parts: object) -> str:
    """What a pooled backend was built from: when it changes, the pool builds a new one."""
    return json.dumps(parts, default=str, sort_keys=True)
