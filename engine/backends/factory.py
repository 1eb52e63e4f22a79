"""Build backends from connection configs (secrets already resolved).

Which class a connection type builds, and how, is its kind's (engine.backends.kinds); this
module checks that the kind has the role the caller needs, and types the result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.backends import kinds
from engine.backends.base import BatchBackend, CatalogBackend, ObjectStore, SqlBackend
from engine.backends.kinds import BuildInputs, Kind, Role
from engine.errors import ValidationError

# The SQL engine of a workspace without a SQL connection: in-process, on the embedded
# catalog (its kind's builder, with no connection config).
EMBEDDED_SQL = "duckdb"
# The kind of the embedded catalog (`<data_dir>/catalog.db`), as health reports it.
EMBEDDED_CATALOG = "iceberg_sql"

_ROLE_TEXT: dict[str, str] = {
    "storage": "object storage",
    "catalog": "an Iceberg catalog",
    "sql": "a SQL engine",
    "batch": "a Spark engine",
    "source": "a data source",
}


def timeout_of(config: dict[str, Any]) -> float:
    """The connection's deadline in seconds (connections saved before it existed: 10 s)."""
    return float(config.get("timeout_s") or kinds.DEFAULT_TIMEOUT_S)


def kind_with_role(conn_type: str, role: Role | None) -> Kind:
    """The kind of `conn_type`, refused (with a clear line) unless it has that role."""
    kind = kinds.find(conn_type)
    if kind is None:
        raise ValidationError(f"unknown connection type {conn_type!r}", "connection")
    if role is not None and kind.role != role:
        raise ValidationError(f"a {conn_type} connection is not {_ROLE_TEXT[role]}", "connection")
    return kind


def build(
    conn_type: str, config: dict[str, Any], inputs: BuildInputs, role: Role | None = None
) -> Any:
    """A backend of `conn_type` (which must have `role`, when given) from a resolved config."""
    return kind_with_role(conn_type, role).create(config, inputs)


def object_store(conn_type: str, config: dict[str, Any], data_dir: Path) -> ObjectStore:
    store: ObjectStore = build(conn_type, config, BuildInputs(data_dir), "storage")
    return store


def local_store(data_dir: Path) -> ObjectStore:
    """The embedded default: buckets are directories under `<data_dir>/storage`."""
    from engine.backends.local_store import LocalStore

    return LocalStore(data_dir / "storage")


def catalog(conn_type: str, config: dict[str, Any], data_dir: Path) -> CatalogBackend:
    """A catalog; an `iceberg_sql` connection without uri/warehouse gets the documented
    defaults in `data_dir` (the embedded catalog database and warehouse)."""
    backend: CatalogBackend = build(conn_type, config, BuildInputs(data_dir), "catalog")
    return backend


def embedded_catalog(data_dir: Path, guard: Callable[[], None] | None = None) -> CatalogBackend:
    """The catalog in `<data_dir>/catalog.db`; `guard` runs before each use of its file."""
    from engine.backends.iceberg import IcebergCatalog

    return IcebergCatalog.embedded(data_dir, guard=guard)


def sql_backend(conn_type: str, config: dict[str, Any], inputs: BuildInputs) -> SqlBackend:
    backend: SqlBackend = build(conn_type, config, inputs, "sql")
    return backend


def batch_backend(conn_type: str, config: dict[str, Any], data_dir: Path) -> BatchBackend:
    backend: BatchBackend = build(conn_type, config, BuildInputs(data_dir), "batch")
    return backend
