"""Iceberg catalogs through pyiceberg: the REST catalog, and the SQL catalog (the embedded
default, in the data dir, or on PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.backends.base import ColumnInfo, HealthResult, SnapshotInfo, TableInfo
from engine.backends.net_errors import classify
from engine.errors import BackendError, NotFound, ValidationError
from engine.lazy_imports import import_once

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog


def _s3_properties(
    endpoint: str | None, region: str | None, access_key: str | None, secret_key: str | None
) -> dict[str, str]:
    props = {
        "s3.endpoint": endpoint,
        "s3.region": region,
        "s3.access-key-id": access_key,
        "s3.secret-access-key": secret_key,
        "s3.path-style-access": "true" if endpoint else None,
    }
    return {k: v for k, v in props.items() if v}


class IcebergCatalog:
    """CatalogBackend over any pyiceberg catalog; build one with `rest`, `sql` or `embedded`."""

    def __init__(self, kind: str, name: str, properties: dict[str, str]) -> None:
        self.kind = kind
        self.name = name
        self._properties = properties
        self._catalog: Catalog | None = None

    def __repr__(self) -> str:
        return f"IcebergCatalog(kind={self.kind!r}, name={self.name!r})"

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def rest(
        cls,
        uri: str,
        *,
        warehouse: str | None = None,
        credential: str | None = None,
        token: str | None = None,
        oauth2_server_uri: str | None = None,
        s3_endpoint: str | None = None,
        s3_region: str | None = None,
        s3_access_key: str | None = None,
        s3_secret_key: str | None = None,
        name: str = "rest",
    ) -> IcebergCatalog:
        props = {
            "type": "rest",
            "uri": uri,
            "warehouse": warehouse,
            "credential": credential,
            "token": token,
            "oauth2-server-uri": oauth2_server_uri,
        }
        props = {k: v for k, v in props.items() if v}
        props.update(_s3_properties(s3_endpoint, s3_region, s3_access_key, s3_secret_key))
        return cls("rest", name, props)

    @classmethod
    def sql(
        cls,
        uri: str,
        warehouse: str,
        *,
        s3_endpoint: str | None = None,
        s3_region: str | None = None,
        s3_access_key: str | None = None,
        s3_secret_key: str | None = None,
        name: str = "sql",
    ) -> IcebergCatalog:
        if not uri or not warehouse:
            raise ValidationError("an Iceberg SQL catalog needs a uri and a warehouse", "config")
        if "://" not in warehouse:
            Path(warehouse).mkdir(parents=True, exist_ok=True)
            warehouse = Path(warehouse).resolve().as_uri()
        props = {"type": "sql", "uri": uri, "warehouse": warehouse, "init_catalog_tables": "true"}
        props.update(_s3_properties(s3_endpoint, s3_region, s3_access_key, s3_secret_key))
        return cls("sql", name, props)

    @classmethod
    def embedded(cls, data_dir: Path) -> IcebergCatalog:
        """The default: a SQL catalog in `<data_dir>/catalog.db`, warehouse beside it."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls.sql(
            f"sqlite:///{data_dir / 'catalog.db'}", str(data_dir / "warehouse"), name="sadeem"
        )

    # -- plumbing ---------------------------------------------------------------------------

    def pyiceberg_catalog(self) -> Catalog:
        if self._catalog is None:
            import_once("pyiceberg.catalog")
            from pyiceberg.catalog import load_catalog

            try:
                self._catalog = load_catalog(self.name, **self._properties)
            except Exception as exc:
                raise _backend_error(exc, f"catalog {self.name}") from None
        return self._catalog

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a pyiceberg call, turning its exceptions into Sadeem errors."""
        from pyiceberg.exceptions import (
            NamespaceAlreadyExistsError,
            NoSuchNamespaceError,
            NoSuchTableError,
            TableAlreadyExistsError,
        )

        try:
            return fn(*args, **kwargs)
        except (NoSuchNamespaceError, NoSuchTableError):
            raise NotFound(f"{what} does not exist") from None
        except (NamespaceAlreadyExistsError, TableAlreadyExistsError):
            from engine.errors import Conflict

            raise Conflict(f"{what} already exists") from None
        except (NotFound, ValidationError, BackendError):
            raise
        except Exception as exc:
            raise _backend_error(exc, what) from None

    # -- namespaces -------------------------------------------------------------------------

    def list_namespaces(self, parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        cat = self.pyiceberg_catalog()
        return [tuple(ns) for ns in self._call("namespaces", cat.list_namespaces, parent)]

    def namespace_exists(self, namespace: tuple[str, ...]) -> bool:
        return bool(
            self._call(_ns(namespace), self.pyiceberg_catalog().namespace_exists, namespace)
        )

    def create_namespace(self, namespace: tuple[str, ...], properties: dict[str, str]) -> None:
        self._call(
            f"namespace {_ns(namespace)}",
            self.pyiceberg_catalog().create_namespace,
            namespace,
            properties,
        )

    def namespace_properties(self, namespace: tuple[str, ...]) -> dict[str, str]:
        return dict(
            self._call(
                f"namespace {_ns(namespace)}",
                self.pyiceberg_catalog().load_namespace_properties,
                namespace,
            )
        )

    def drop_namespace(self, namespace: tuple[str, ...]) -> None:
        self._call(
            f"namespace {_ns(namespace)}", self.pyiceberg_catalog().drop_namespace, namespace
        )

    # -- tables -----------------------------------------------------------------------------

    def list_tables(self, namespace: tuple[str, ...]) -> list[str]:
        # Some REST catalogs answer an empty list for a missing namespace; be consistent.
        if not self.namespace_exists(namespace):
            raise NotFound(f"namespace {_ns(namespace)} does not exist")
        idents = self._call(
            f"namespace {_ns(namespace)}", self.pyiceberg_catalog().list_tables, namespace
        )
        return [ident[-1] for ident in idents]

    def table_exists(self, identifier: str) -> bool:
        return bool(
            self._call(
                f"table {identifier}", self.pyiceberg_catalog().table_exists, _ident(identifier)
            )
        )

    def load(self, identifier: str) -> Any:
        return self._call(
            f"table {identifier}", self.pyiceberg_catalog().load_table, _ident(identifier)
        )

    def create_table(
        self,
        identifier: str,
        schema: pa.Schema,
        location: str | None = None,
        partition_by: list[str] | None = None,
    ) -> Any:
        """Create a table from an Arrow schema, optionally partitioned by identity columns."""
        kwargs: dict[str, Any] = {}
        if location:
            kwargs["location"] = location
        table = self._call(
            f"table {identifier}",
            self.pyiceberg_catalog().create_table,
            _ident(identifier),
            schema=schema,
            **kwargs,
        )
        if partition_by:
            from pyiceberg.transforms import IdentityTransform

            with table.update_spec() as spec:
                for column in partition_by:
                    spec.add_field(column, IdentityTransform(), column)
        return table

    def drop_table(self, identifier: str) -> None:
        self._call(f"table {identifier}", self.pyiceberg_catalog().drop_table, _ident(identifier))

    def table_info(self, identifier: str) -> TableInfo:
        table = self.load(identifier)
        schema = table.schema()
        spec = table.spec()
        columns = [
            ColumnInfo(f.field_id, f.name, str(f.field_type), f.required, f.doc)
            for f in schema.fields
        ]
        partition = [
            f"{f.transform}({schema.find_column_name(f.source_id)})"
            if str(f.transform) != "identity"
            else str(schema.find_column_name(f.source_id))
            for f in spec.fields
        ]
        sort = [
            f"{schema.find_column_name(f.source_id)} {f.direction.name.lower()}"
            for f in table.sort_order().fields
        ]
        snapshots = [
            SnapshotInfo(
                s.snapshot_id,
                s.parent_snapshot_id,
                datetime.fromtimestamp(s.timestamp_ms / 1000, UTC),
                s.summary.operation.value if s.summary else None,
                {
                    k: str(v)
                    for k, v in (s.summary.additional_properties if s.summary else {}).items()
                },
            )
            for s in table.snapshots()
        ]
        current = table.current_snapshot()
        summary = current.summary.additional_properties if current and current.summary else {}

        def num(key: str) -> int | None:
            return int(summary[key]) if key in summary else None

        namespace, name = _ident(identifier)
        return TableInfo(
            namespace=(namespace,),
            name=name,
            location=table.location(),
            columns=columns,
            partition_spec=partition,
            sort_order=sort,
            properties=dict(table.properties),
            current_snapshot_id=current.snapshot_id if current else None,
            snapshots=snapshots,
            data_files=num("total-data-files"),
            total_bytes=num("total-files-size"),
            total_records=num("total-records"),
        )

    def sample_rows(
        self,
        identifier: str,
        limit: int = 100,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
    ) -> pa.Table:
        """Rows of the current snapshot, or as of a snapshot id / the latest at `as_of`."""
        table = self.load(identifier)
        if as_of is not None and snapshot_id is None:
            ts = int(as_of.timestamp() * 1000)
            older = [s for s in table.snapshots() if s.timestamp_ms <= ts]
            if not older:
                raise NotFound(f"table {identifier} has no snapshot at or before {as_of}")
            snapshot_id = max(older, key=lambda s: s.timestamp_ms).snapshot_id
        if snapshot_id is not None and table.snapshot_by_id(snapshot_id) is None:
            raise NotFound(f"table {identifier} has no snapshot {snapshot_id}")
        return self._call(
            f"table {identifier}",
            lambda: table.scan(snapshot_id=snapshot_id, limit=limit).to_arrow(),
        )

    def test(self) -> HealthResult:
        start = time.perf_counter()
        try:
            if self.kind == "sql":
                count = self._count_sql_namespaces()
            else:
                count = len(self.list_namespaces())
        except BackendError as exc:
            return HealthResult(False, detail=str(exc), error_kind=exc.kind)
        except NotFound as exc:
            return HealthResult(False, detail=str(exc), error_kind="not_found")
        from importlib.metadata import version

        return HealthResult(
            True,
            (time.perf_counter() - start) * 1000,
            f"pyiceberg {version('pyiceberg')} ({self.kind})",
            f"{count} namespace(s)",
        )

    def _count_sql_namespaces(self) -> int:
        """Top-level namespaces of a SQL catalog, read from its database with SQLAlchemy
        (none yet if pyiceberg has not created its tables there).

        A probe through pyiceberg first loads pyiceberg: its latency then reports ~0.3 s of
        imports instead of the database, and a console that never opens a table keeps
        ~25 MiB for it. The tables are the Iceberg JDBC catalog's layout, which pyiceberg's
        SqlCatalog shares: namespaces are those holding tables plus those with properties."""
        from sqlalchemy import create_engine, inspect, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self._properties["uri"], poolclass=NullPool)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table("iceberg_tables"):
                    return 0
                rows = conn.execute(
                    text(
                        "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = :c "
                        "UNION SELECT namespace FROM iceberg_namespace_properties "
                        "WHERE catalog_name = :c"
                    ),
                    {"c": self.name},
                )
                return len({ns.split(".")[0] for (ns,) in rows})
        except Exception as exc:  # the driver's error classes vary by database
            kind, message = classify(exc)
            raise BackendError(f"catalog {self.name}: {message}", kind=kind) from None
        finally:
            engine.dispose()


def _ns(namespace: tuple[str, ...]) -> str:
    return ".".join(namespace)


def _ident(identifier: str) -> tuple[str, str]:
    parts = identifier.split(".")
    if len(parts) != 2 or not all(parts):
        raise ValidationError(f"{identifier!r} is not NAMESPACE.TABLE", field="table")
    return parts[0], parts[1]


def _backend_error(exc: Exception, what: str) -> BackendError:
    from pyiceberg.exceptions import (
        AuthorizationExpiredError,
        ForbiddenError,
        OAuthError,
        UnauthorizedError,
    )

    if isinstance(exc, UnauthorizedError | OAuthError | AuthorizationExpiredError):
        return BackendError(f"{what}: the catalog refused the credentials", kind="auth")
    if isinstance(exc, ForbiddenError):
        return BackendError(f"{what}: forbidden by the catalog", kind="forbidden")
    kind, message = classify(exc)
    return BackendError(f"{what}: {message}", kind=kind)
