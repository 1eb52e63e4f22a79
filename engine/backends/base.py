"""The Protocols every backend implements and the plain data they exchange.

Kept free of heavy imports: pyarrow appears only in type hints (behind TYPE_CHECKING).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.run_states import RunState

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class HealthResult:
    """Outcome of a connection test: reachability, auth, version and latency."""

    ok: bool
    latency_ms: float | None = None
    version: str | None = None
    detail: str = ""
    # dns | refused | timeout | tls | auth | forbidden | not_found | protocol | error
    error_kind: str | None = None


# ---------------------------------------------------------------- SQL


@dataclass(frozen=True)
class QueryProgress:
    """A snapshot of a running query, as the engine reports it."""

    state: str  # QUEUED | PLANNING | RUNNING | FINISHING | FINISHED | FAILED | CANCELLED
    percent: float | None = None  # 0..100 when the engine knows
    rows: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class QueryContext:
    """Who runs a statement and where: user for X-Trino-User, session catalog/schema, tags."""

    user: str
    catalog: str | None = None
    schema: str | None = None
    # `interactive` for the editor, `batch` for jobs: Trino resource groups select on these.
    client_tags: tuple[str, ...] = ("interactive",)
    source: str = "sadeem"


class QueryHandle(Protocol):
    """A submitted statement. Results stream as Arrow record batches."""

    @property
    def query_id(self) -> str | None: ...

    @property
    def ui_link(self) -> str | None: ...

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield result batches until the query ends; raises QueryError / QueryCancelled.
        A result with no row yields one empty batch, so a stream still knows its columns."""
        ...

    def fetch(self, max_rows: int | None = None) -> pa.Table:
        """Collect up to max_rows rows (all when None) from the remaining batches."""
        ...

    def progress(self) -> QueryProgress: ...

    def cancel(self) -> None:
        """Stop the query on the server (not just locally). Safe to call from another thread."""
        ...


class SqlBackend(Protocol):
    """Trino or DuckDB."""

    def execute(
        self,
        sql: str,
        ctx: QueryContext,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> QueryHandle: ...

    def test(self) -> HealthResult: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- object store


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime | None = None


@dataclass(frozen=True)
class ListPage:
    objects: list[ObjectInfo]
    common_prefixes: list[str] = field(default_factory=list)
    next_token: str | None = None  # pass back to list() for the next page


class ObjectStore(Protocol):
    """S3 / MinIO, or a local directory for the embedded default."""

    def bucket_exists(self, bucket: str) -> bool: ...

    def create_bucket(self, bucket: str) -> None: ...

    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        page_size: int = 1000,
        token: str | None = None,
    ) -> ListPage: ...

    def put(self, bucket: str, key: str, data: bytes) -> None: ...

    def get(self, bucket: str, key: str) -> bytes: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def prefix_size(self, bucket: str, prefix: str) -> tuple[int, int]:
        """(object count, total bytes) under a prefix."""
        ...

    def uri(self, bucket: str, prefix: str) -> str:
        """The URI an Iceberg location under this prefix uses (s3://... or file://...)."""
        ...

    def test(self, bucket: str | None = None) -> HealthResult: ...


# ---------------------------------------------------------------- catalog


@dataclass(frozen=True)
class ColumnInfo:
    field_id: int
    name: str
    type: str
    required: bool
    doc: str | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    parent_id: int | None
    timestamp: datetime
    operation: str | None
    summary: dict[str, str]


@dataclass(frozen=True)
class TableInfo:
    namespace: tuple[str, ...]
    name: str
    location: str
    columns: list[ColumnInfo]
    partition_spec: list[str]  # e.g. ["day(read_at)", "identity(region)"]
    sort_order: list[str]
    properties: dict[str, str]
    current_snapshot_id: int | None
    snapshots: list[SnapshotInfo]
    data_files: int | None = None  # from the current snapshot summary
    total_bytes: int | None = None
    total_records: int | None = None

    @property
    def identifier(self) -> str:
        return ".".join((*self.namespace, self.name))


class CatalogBackend(Protocol):
    """An Iceberg catalog (REST, or the embedded SQL catalog) through pyiceberg."""

    def list_namespaces(self, parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]: ...

    def namespace_exists(self, namespace: tuple[str, ...]) -> bool: ...

    def create_namespace(self, namespace: tuple[str, ...], properties: dict[str, str]) -> None: ...

    def namespace_properties(self, namespace: tuple[str, ...]) -> dict[str, str]: ...

    def list_tables(self, namespace: tuple[str, ...]) -> list[str]: ...

    def table_versions(self, namespaces: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """{namespace: {table: version}} for those of `namespaces` that exist, from one
        listing; a version (the metadata file's location) changes with every commit, None
        where the catalog's listing does not say it."""
        ...

    def table_columns(self, identifier: str) -> tuple[str | None, list[ColumnInfo]]:
        """(version, columns) of one table: its schema only, without snapshots or stats."""
        ...

    def table_info(self, identifier: str) -> TableInfo: ...

    def sample_rows(
        self,
        identifier: str,
        limit: int = 100,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
    ) -> pa.Table: ...

    def test(self) -> HealthResult: ...


# ---------------------------------------------------------------- batch (Spark)


@dataclass(frozen=True)
class SparkAppSpec:
    """A Spark application as a job defines it; backends turn it into their own form."""

    name: str  # DNS-1123 name the backend may use as the external id
    main_application_file: str
    main_class: str | None = None
    arguments: list[str] = field(default_factory=list)
    spark_conf: dict[str, str] = field(default_factory=dict)
    spark_version: str = "3.5.3"
    image: str | None = None
    app_type: str = "Python"  # Python | Scala | Java | R
    driver_cores: int = 1
    driver_memory: str = "1g"
    executor_cores: int = 1
    executor_memory: str = "1g"
    executor_instances: int = 1
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


# What a batch backend reports, in run states: the work goes on, or it ended with an outcome;
# UNKNOWN when the backend does not know the work (not found, lost).
BATCH_PENDING = (RunState.QUEUED, RunState.RUNNING)
BATCH_ENDED = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class BatchStatus:
    """The backend's view of a submitted application, mapped to Sadeem run states."""

    external_id: str
    # A RunState of BATCH_PENDING or BATCH_ENDED, or UNKNOWN (not found / lost).
    state: str
    backend_state: str | None = None  # e.g. SUBMISSION_FAILED, PENDING_RERUN
    message: str | None = None
    ui_link: str | None = None


class BatchBackend(Protocol):
    """Spark Operator on Kubernetes, or spark-submit in local mode."""

    def submit(self, spec: SparkAppSpec) -> BatchStatus:
        """Submit; return as soon as the backend accepted it (external id known)."""
        ...

    def status(self, external_id: str) -> BatchStatus: ...

    def wait(self, external_id: str, timeout_s: float) -> BatchStatus:
        """Block until a terminal state or the timeout, returning the latest status."""
        ...

    def logs(self, external_id: str) -> Iterator[str]:
        """Stream log lines (driver pod log / process output) until the application ends."""
        ...

    def cancel(self, external_id: str) -> None: ...

    def test(self) -> HealthResult: ...


def count_prefix(store: ObjectStore, bucket: str, prefix: str) -> tuple[int, int]:
    """(object count, total bytes) under a prefix, paging through `store.list`."""
    count = size = 0
    token = None
    while True:
        page = store.list(bucket, prefix, token=token)
        count += len(page.objects)
        size += sum(o.size for o in page.objects)
        if not page.next_token:
            return count, size
        token = page.next_token


# ---------------------------------------------------------------- capabilities
#
# Optional abilities a backend may have. Callers test for them (`isinstance(backend,
# Warmable)`) and never for a concrete backend class, so a new backend gains a behaviour by
# implementing the methods, with no caller to change.


@runtime_checkable
class Closeable(Protocol):
    """Holds resources (a database, a process, a session) until closed; the backend pool
    closes it when the engine stops or its connection changes."""

    def close(self) -> None: ...


@runtime_checkable
class Reattachable(Protocol):
    """Runs work outside the engine's process, so another engine can find it again by its
    external id after a crash (a Trino query, a Spark application) and settle its run."""

    def external_state(self, external_id: str, user: str | None = None) -> str | None:
        """`running`, `succeeded`, `failed` or `cancelled`; None when the backend no longer
        knows the work. `user` is who the work runs as, when the backend asks as them."""
        ...

    def cancel_external(self, external_id: str, user: str | None = None) -> None:
        """Stop the work on the backend."""
        ...


class BatchReattach:
    """Reattachable for a batch backend (its `status` and `cancel`): an application outlives
    the engine that submitted it. Both Spark backends share it."""

    def status(self, external_id: str) -> BatchStatus:
        raise NotImplementedError

    def cancel(self, external_id: str) -> None:
        raise NotImplementedError

    def external_state(self, external_id: str, user: str | None = None) -> str | None:
        """The application's state as a run state; None when it is gone (not found)."""
        status = self.status(external_id)
        if status.state == UNKNOWN:
            return None
        return RunState.RUNNING if status.state == RunState.QUEUED else status.state

    def cancel_external(self, external_id: str, user: str | None = None) -> None:
        self.cancel(external_id)


@runtime_checkable
class Warmable(Protocol):
    """Has a first-use cost worth paying before the operator's first query (an in-process
    engine loading itself and its catalog); a remote engine is not warmed."""

    def warm(self, ctx: QueryContext) -> None: ...


@runtime_checkable
class IcebergWriter(Protocol):
    """A catalog that in-process engines can commit Iceberg tables to (DuckDB's CTAS and
    INSERT): it hands out the pyiceberg Catalog, the one place pyiceberg leaks out."""

    def pyiceberg_catalog(self) -> Any:
        """The underlying pyiceberg Catalog."""
        ...
