"""The catalog explorer: namespaces, tables, schema, snapshots and sample rows per workspace."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING

from engine.backends.base import CatalogBackend, ColumnInfo, TableInfo
from engine.context import Actor
from engine.errors import NotFound, ValidationError
from engine.services.base import Service, ServiceDeps, authorize, get_workspace
from engine.services.lakehouse import Lakehouse
from engine.services.workspaces import WorkspaceService, WorkspaceView

if TYPE_CHECKING:
    import pyarrow as pa

MAX_SAMPLE = 10_000
# Columns kept per (workspace, catalog connection, table, version): a version is immutable,
# so an entry is never stale, only evicted (oldest first) past this many.
COLUMN_CACHE = 4096


class CatalogService(Service):
    def __init__(
        self, deps: ServiceDeps, workspaces: WorkspaceService, lakehouse: Lakehouse
    ) -> None:
        super().__init__(deps)
        self.workspaces = workspaces
        self.lakehouse = lakehouse
        self._columns: OrderedDict[tuple[str, str, str, str], list[ColumnInfo]] = OrderedDict()
        self._columns_lock = threading.Lock()

    def namespaces(self, actor: Actor, workspace: str | None = None) -> list[str]:
        """The layer namespaces of one workspace, or of every workspace the actor sees, that
        exist in their catalogs."""
        names = [workspace] if workspace else [w.name for w in self.workspaces.list(actor)]
        out: list[str] = []
        for name in names:
            ws, catalog = self._open(actor, name)
            out += [ns for ns in ws.namespaces if catalog.namespace_exists((ns,))]
        return out

    def tables(self, actor: Actor, namespace: str) -> list[str]:
        _, catalog = self._for_namespace(actor, namespace)
        return sorted(catalog.list_tables((namespace,)))

    def listing(self, actor: Actor, workspace: str) -> dict[str, dict[str, str | None]]:
        """{namespace: {table: version}} of the workspace's existing layer namespaces, in
        order, tables sorted: one authorization and one catalog listing for the whole
        workspace, no table's metadata read (completion and the catalog tree start here)."""
        ws, catalog = self._open(actor, workspace)
        found = catalog.table_versions(ws.namespaces)
        return {ns: dict(sorted(found[ns].items())) for ns in ws.namespaces if ns in found}

    def namespace_listing(self, actor: Actor, namespace: str) -> dict[str, str | None]:
        """{table: version} of one layer namespace of a visible workspace."""
        _, catalog = self._for_namespace(actor, namespace)
        found = catalog.table_versions([namespace])
        if namespace not in found:
            raise NotFound(f"namespace {namespace} does not exist")
        return dict(sorted(found[namespace].items()))

    def columns(
        self, actor: Actor, identifier: str, version: str | None = None
    ) -> list[ColumnInfo]:
        """A table's columns. With the `version` a listing gave, a table already read at
        that version is answered from memory; otherwise its metadata is read (once)."""
        namespace, _ = _split(identifier)
        ws, catalog = self._for_namespace(actor, namespace)  # authorized on every call
        scope = (ws.name, ws.catalog_connection or "", identifier)
        with self._columns_lock:
            cached = self._columns.get((*scope, version)) if version else None
        if cached is not None:
            return list(cached)
        loaded, columns = catalog.table_columns(identifier)
        if loaded:  # filed under the version read, whatever the caller believed it was
            with self._columns_lock:
                self._columns[(*scope, loaded)] = columns
                while len(self._columns) > COLUMN_CACHE:
                    self._columns.popitem(last=False)
        return list(columns)

    def table(self, actor: Actor, identifier: str) -> TableInfo:
        namespace, _ = _split(identifier)
        _, catalog = self._for_namespace(actor, namespace)
        return catalog.table_info(identifier)

    def sample(
        self,
        actor: Actor,
        identifier: str,
        limit: int = 100,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
    ) -> pa.Table:
        """Up to `limit` rows, optionally as of a snapshot id or a point in time."""
        if not 1 <= limit <= MAX_SAMPLE:
            raise ValidationError(f"must be between 1 and {MAX_SAMPLE}", field="limit")
        namespace, _ = _split(identifier)
        _, catalog = self._for_namespace(actor, namespace)
        return catalog.sample_rows(identifier, limit, snapshot_id=snapshot_id, as_of=as_of)

    def owner_of(self, actor: Actor, namespace: str) -> WorkspaceView:
        """The visible workspace whose layer namespace this is."""
        for ws in self.workspaces.list(actor):
            if namespace in ws.namespaces:
                return ws
        raise NotFound(f"namespace {namespace!r} belongs to no workspace you can see")

    # -- helpers ----------------------------------------------------------------------------

    def _open(self, actor: Actor, workspace: str) -> tuple[WorkspaceView, CatalogBackend]:
        with self.unit() as s:
            authorize(s, actor, "catalog.read", get_workspace(s, workspace))
        ws = self.workspaces.get(actor, workspace)
        return ws, self.lakehouse.catalog(actor, ws)

    def _for_namespace(self, actor: Actor, namespace: str) -> tuple[WorkspaceView, CatalogBackend]:
        return self._open(actor, self.owner_of(actor, namespace).name)


def _split(identifier: str) -> tuple[str, str]:
    parts = identifier.split(".")
    if len(parts) != 2 or not all(parts):
        raise ValidationError(
            f"{identifier!r} is not NAMESPACE.TABLE, e.g. demo_gold.daily_usage", field="table"
        )
    return parts[0], parts[1]
