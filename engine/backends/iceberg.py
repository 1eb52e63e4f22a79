"""Iceberg catalogs through pyiceberg: the REST catalog, and the SQL catalog (the embedded
default, in the data dir, or on PostgreSQL)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.backends.base import ColumnInfo, HealthResult, SnapshotInfo, TableInfo
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.backends.net_errors import classify
from engine.errors import BackendError, NotFound, SadeemError, ValidationError
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


# The catalog_name of the embedded catalog's rows, and the default of an iceberg_sql one.
EMBEDDED_CATALOG_NAME = "sadeem"


class IcebergCatalog:
    """CatalogBackend over any pyiceberg catalog; build one with `rest`, `sql` or `embedded`."""

    def __init__(
        self,
        kind: str,
        name: str,
        properties: dict[str, str],
        timeout_s: float = 10,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self._properties = properties
        self.timeout_s = timeout_s
        # Called before every connection to the catalog's database is made or handed out
        # (and before a health probe): it raises when the database must not be used.
        self._guard = guard
        self._catalog: Catalog | None = None
        self._engine: Any = None  # listing the SQL catalog without pyiceberg

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
        timeout_s: float = 10,
    ) -> IcebergCatalog:
        props = {
            "type": "rest",
            "uri": uri,
            "warehouse": warehouse,
            "credential": credential,
            "token": token,
            "oauth2-server-uri": oauth2_server_uri,
        }
        given = {k: v for k, v in props.items() if v}
        given.update(_s3_properties(s3_endpoint, s3_region, s3_access_key, s3_secret_key))
        return cls("rest", name, given, timeout_s)

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
        timeout_s: float = 10,
    ) -> IcebergCatalog:
        if not uri or not warehouse:
            raise ValidationError("an Iceberg SQL catalog needs a uri and a warehouse", "config")
        if "://" not in warehouse:
            Path(warehouse).mkdir(parents=True, exist_ok=True)
            warehouse = Path(warehouse).resolve().as_uri()
        if uri.startswith("postgresql") and "connect_timeout=" not in uri:
            # libpq reads it from the URL: pyiceberg builds its engine with no connect_args.
            uri += ("&" if "?" in uri else "?") + f"connect_timeout={max(1, int(timeout_s))}"
        props = {"type": "sql", "uri": uri, "warehouse": warehouse, "init_catalog_tables": "true"}
        props.update(_s3_properties(s3_endpoint, s3_region, s3_access_key, s3_secret_key))
        return cls("sql", name, props, timeout_s)

    @classmethod
    def embedded(cls, data_dir: Path, guard: Callable[[], None] | None = None) -> IcebergCatalog:
        """The default: a SQL catalog in `<data_dir>/catalog.db`, warehouse beside it.
        `guard` is engine.services.catalog_guard's check that the file is still the one
        it verified (SQLite would otherwise create an empty one, or keep writing to a
        deleted one through a pooled connection)."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        catalog = cls.sql(
            f"sqlite:///{data_dir / 'catalog.db'}",
            str(data_dir / "warehouse"),
            name=EMBEDDED_CATALOG_NAME,
        )
        catalog._guard = guard
        return catalog

    # -- plumbing ---------------------------------------------------------------------------

    def pyiceberg_catalog(self) -> Catalog:
        if self._catalog is None:
            import_once("pyiceberg.catalog")
            from pyiceberg.catalog import load_catalog

            if self._guard is not None:
                self._guard()  # before load_catalog: it connects (and creates tables) at once
            try:
                if self.kind == "rest":
                    self._catalog = _rest_catalog(self.name, self._properties, self.timeout_s)
                else:
                    self._catalog = load_catalog(self.name, **self._properties)
            except Exception as exc:
                raise _backend_error(exc, f"catalog {self.name}") from None
            if self._guard is not None:
                _guard_connections(self._catalog, self._guard)
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

    def table_versions(self, namespaces: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """Tables of those of `namespaces` that exist, each with its metadata location.

        A SQL catalog answers from its database in two queries whatever the number of
        tables, without pyiceberg (its import is ~0.3 s and ~25 MiB a completion or a
        tree should not pay); a REST catalog with one listing per namespace, no versions."""
        if self.kind == "sql":
            return self._sql_table_versions(list(namespaces))
        out: dict[str, dict[str, str | None]] = {}
        for ns in namespaces:
            try:
                out[ns] = dict.fromkeys(self.list_tables((ns,)))
            except NotFound:
                continue
        return out

    def table_columns(self, identifier: str) -> tuple[str | None, list[ColumnInfo]]:
        table = self.load(identifier)
        columns = [
            ColumnInfo(f.field_id, f.name, str(f.field_type), f.required, f.doc)
            for f in table.schema().fields
        ]
        return table.metadata_location, columns

    def _sql_table_versions(self, namespaces: list[str]) -> dict[str, dict[str, str | None]]:
        """The Iceberg JDBC layout pyiceberg's SqlCatalog shares: a namespace exists when it
        has properties or tables; rows typed other than TABLE (views) are not tables."""
        from sqlalchemy import bindparam, inspect, text

        if not namespaces:
            return {}
        try:
            with self._listing_engine().connect() as conn:
                found = inspect(conn)
                if not found.has_table("iceberg_tables"):
                    return {}
                typed = "iceberg_type" in {c["name"] for c in found.get_columns("iceberg_tables")}
                only_tables = " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
                rows = conn.execute(
                    text(
                        "SELECT table_namespace, table_name, metadata_location FROM "
                        "iceberg_tables WHERE catalog_name = :c AND table_namespace IN :ns"
                        + (only_tables if typed else "")
                    ).bindparams(bindparam("ns", expanding=True)),
                    {"c": self.name, "ns": namespaces},
                ).all()
                props: list[Any] = []
                if found.has_table("iceberg_namespace_properties"):
                    props = conn.execute(
                        text(
                            "SELECT DISTINCT namespace FROM iceberg_namespace_properties "
                            "WHERE catalog_name = :c AND namespace IN :ns"
                        ).bindparams(bindparam("ns", expanding=True)),
                        {"c": self.name, "ns": namespaces},
                    ).all()
        except SadeemError:
            raise  # the guard's refusal (a missing or replaced catalog database), as it is
        except Exception as exc:  # the driver's error classes vary by database
            kind, message = classify(exc)
            raise BackendError(f"catalog {self.name}: {message}", kind=kind) from None
        out: dict[str, dict[str, str | None]] = {ns: {} for (ns,) in props}
        for ns, name, location in rows:
            out.setdefault(ns, {})[name] = location
        return out

    def _listing_engine(self) -> Any:
        """pyiceberg's own engine once it is loaded, else one of ours without a pool: a
        connection's catalog object is built per use and dropped, and must not leave open
        connections behind it."""
        if self._catalog is not None and hasattr(self._catalog, "engine"):
            return self._catalog.engine
        if self._engine is None:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            self._engine = create_engine(self._properties["uri"], poolclass=NullPool)
            if self._guard is not None:  # the same check as pyiceberg's engine gets
                _guard_engine(self._engine, self._guard)
        return self._engine

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
        if self.table_exists(identifier):
            # The REST spec answers 409; SeaweedFS answers 200 with the existing table and
            # ignores the new schema. Ask first so every catalog refuses the same way.
            from engine.errors import Conflict

            raise Conflict(f"table {identifier} already exists")
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
            if self._guard is not None:
                self._guard()  # the probe below opens the file itself: SQLite would create it
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


def _guard_connections(catalog: Catalog, guard: Callable[[], None]) -> None:
    """Run `guard` before pyiceberg's engine opens a connection (SQLite would create a
    missing file) and before it hands out a pooled one (which may hold a deleted or
    replaced file open): every read and every commit passes through one of the two. Costs
    one stat() per checkout."""
    engine = getattr(catalog, "engine", None)
    if engine is None:  # pragma: no cover - pyiceberg's SqlCatalog always has one
        return
    _guard_engine(engine, guard)


def _guard_engine(engine: Any, guard: Callable[[], None]) -> None:
    from sqlalchemy import event

    event.listen(engine, "do_connect", lambda *_args: guard())
    event.listen(engine, "checkout", lambda *_args: guard())


def _rest_catalog(name: str, properties: dict[str, str], timeout_s: float) -> Catalog:
    """pyiceberg's REST catalog with a deadline on every request: its requests Session has
    none, so a server that accepts and never answers held a test for 100+ s (and a console
    quitting behind it)."""
    from pyiceberg.catalog.rest import RestCatalog
    from requests.adapters import HTTPAdapter

    class DeadlineAdapter(HTTPAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = (timeout_s, timeout_s)  # connect, read
            return super().send(request, **kwargs)

    class BoundedRestCatalog(RestCatalog):
        def _create_session(self) -> Any:
            session = super()._create_session()
            for prefix in ("http://", "https://"):
                session.mount(prefix, DeadlineAdapter())
            return session

    return BoundedRestCatalog(name, **properties)


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


# -- the catalog kinds ----------------------------------------------------------------------

_S3_FIELDS = (
    Field("s3_endpoint", "url"),
    Field("s3_region", default="us-east-1"),
    Field("s3_access_key"),
    Field("s3_secret_key", secret=True),
)
_S3_PAIR = (("s3_access_key", "s3_secret_key"),)
_REMOTE_WAREHOUSE = re.compile(r"s3a?://[^/]+", re.I)


def _s3_of(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("s3_endpoint", "s3_region", "s3_access_key", "s3_secret_key")
    return {k: config[k] for k in keys if config.get(k) not in (None, "")}


def _build_rest(config: dict[str, Any], inputs: BuildInputs) -> IcebergCatalog:
    given = ("warehouse", "credential", "token", "oauth2_server_uri")
    return IcebergCatalog.rest(
        config["uri"],
        timeout_s=float(config["timeout_s"]),
        **{k: config[k] for k in given if config.get(k)},
        **_s3_of(config),
    )


def _build_sql(config: dict[str, Any], inputs: BuildInputs) -> IcebergCatalog:
    """An empty uri or warehouse is the documented default in the data dir (the embedded
    catalog database and warehouse)."""
    uri = config.get("uri") or f"sqlite:///{Path(inputs.data_dir) / 'catalog.db'}"
    warehouse = config.get("warehouse") or str(Path(inputs.data_dir) / "warehouse")
    from engine.db import check_url

    try:
        uri = check_url(uri)  # `postgresql://` -> the installed driver, as for metadata
    except ValidationError as exc:
        raise ValidationError(str(exc).replace("database_url: ", ""), "config.uri") from None
    if config.get("password"):
        # The password lives in its secret field; the stored uri never carries it.
        from sqlalchemy.engine import make_url

        uri = make_url(uri).set(password=config["password"]).render_as_string(hide_password=False)
    return IcebergCatalog.sql(
        uri,
        warehouse,
        name=config["catalog_name"],
        timeout_s=float(config["timeout_s"]),
        **_s3_of(config),
    )


def _sql_engine_host_field(config: dict[str, Any]) -> tuple[str, str] | None:
    """The embedded catalog of every workspace (an empty uri), a SQLite file anywhere
    (sadeem.db, another site's catalog), or a local warehouse (the engine then writes table
    files where the value says) are files on the engine's host."""
    uri = str(config.get("uri") or "")
    if not uri:
        return "uri", "the engine's own catalog, which holds every workspace's tables"
    if uri.lower().startswith("sqlite"):
        return "uri", "a SQLite file on the engine's host"
    if not _REMOTE_WAREHOUSE.match(str(config.get("warehouse") or "")):
        return "warehouse", "a directory on the engine's host (give an s3:// warehouse)"
    return None


REST_KIND = register(
    Kind(
        "iceberg_rest",
        "catalog",
        (
            Field("uri", "url", required=True),
            Field("warehouse", help="the warehouse (the catalog) the REST server serves"),
            Field("credential", secret=True, help="OAuth2 client credentials CLIENT_ID:SECRET"),
            Field("token", secret=True, help="bearer token"),
            Field("oauth2_server_uri", "url"),
            *_S3_FIELDS,
        ),
        _build_rest,
        summary="an Iceberg REST catalog",
        pairs=_S3_PAIR,
    )
)
SQL_KIND = register(
    Kind(
        "iceberg_sql",
        "catalog",
        (
            Field("uri", help="SQLAlchemy URL of the catalog database; empty = the data dir"),
            Field("password", secret=True, help="the catalog database's password (not in the uri)"),
            Field("warehouse", help="path or s3:// URI; empty = <data dir>/warehouse"),
            Field(
                "catalog_name",
                default=EMBEDDED_CATALOG_NAME,
                help="the catalog_name of its tables (Spark: spark.sql.catalog.<name>)",
            ),
            *_S3_FIELDS,
        ),
        _build_sql,
        summary="an Iceberg SQL (JDBC) catalog in a database",
        pairs=_S3_PAIR,
        engine_host_field=_sql_engine_host_field,
    )
)
