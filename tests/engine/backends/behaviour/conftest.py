"""Every implementation of each backend Protocol, as one parametrized fixture per Protocol.

A test module here takes `sql`, `batch`, `store` or `catalog` and runs once per
implementation. Each fixture yields a small harness: the backend, plus the few things that
honestly differ between implementations (SQL dialect text, how the Spark Operator is
played on the Kubernetes fake, where a namespace's files go). Expensive set-up (SeaweedFS,
a PostgreSQL database, a REST table bucket, the fakes) is shared per module.

An implementation that cannot do something lists the ability in `lacks` with the reason;
a test calls `lacking(request, impl, ability)`, which marks it xfail(strict=True): it must
fail for that implementation, and starts failing the suite the day it works.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.backends.base import (
    BatchBackend,
    CatalogBackend,
    ObjectStore,
    QueryHandle,
    SparkAppSpec,
    SqlBackend,
)
from tests.support import service_missing


def lacking(request: pytest.FixtureRequest, impl: Any, ability: str) -> None:
    """Mark this test xfail(strict) when `impl` declares it cannot do `ability`."""
    reason = impl.lacks.get(ability)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{impl.name}: {reason}"))


# ---------------------------------------------------------------- SqlBackend


@dataclass(frozen=True)
class SqlImpl:
    """A SqlBackend and the statements of its dialect the suite needs."""

    name: str
    backend: SqlBackend
    rows: Callable[[int], str]  # N rows of one bigint column `value`: 0 .. N-1
    long: str  # runs far longer than any test waits
    fail: Callable[[str], str]  # fails at run time with the given message
    typed: str  # one row: 'a', 1.5, true, 2026-11-24, 2026-11-24 10:30:00, 12.34, NULL
    stopped_on_server: Callable[[QueryHandle], bool]  # evidence the engine stopped it
    lacks: dict[str, str] = field(default_factory=dict)


def _duckdb() -> Iterator[SqlImpl]:
    from engine.backends.duckdb import DuckDBBackend

    backend = DuckDBBackend()

    def stopped(query: QueryHandle) -> bool:
        # The cursor reports -1 once no statement runs on it any more.
        return query._cursor.query_progress() == -1  # type: ignore[attr-defined]

    yield SqlImpl(
        "duckdb",
        backend,
        rows=lambda n: f"SELECT range AS value FROM range({n})",
        long="SELECT sum(a.range * b.range) FROM range(2000000000) a, range(1000) b "
        "WHERE a.range % 1000 = b.range",
        fail=lambda message: f"SELECT error('{message}')",
        typed="SELECT 'a' AS s, 1.5::DOUBLE AS d, true AS b, DATE '2026-11-24' AS day, "
        "TIMESTAMP '2026-11-24 10:30:00' AS ts, 12.34::DECIMAL(4,2) AS amount, "
        "NULL::BIGINT AS missing",
        stopped_on_server=stopped,
        lacks={
            "query_by_id": "in-process: its queries live and die with the engine process "
            "(the README: such runs are marked lost after a crash)",
        },
    )
    backend.close()


def _trino() -> Iterator[SqlImpl]:
    from engine.backends.trino import TrinoBackend
    from tests.fakes.trino_server import TYPED_SQL, FakeTrino

    fake = FakeTrino().start()
    backend = TrinoBackend("127.0.0.1", fake.port)

    def stopped(query: QueryHandle) -> bool:
        return (
            query.query_id in fake.deletes
            and fake.query(query.query_id).cancelled
            and backend.query_state(query.query_id) == "FAILED"
        )

    try:
        yield SqlImpl(
            "trino",
            backend,
            # Real Trino: SELECT * FROM UNNEST(sequence(0, N - 1)) AS t(value); the fake's
            # range(N) is its stand-in with the same column.
            rows=lambda n: f"SELECT * FROM range({n})",
            long="SELECT sleep(60)",
            fail=lambda message: f"SELECT fail('{message}')",
            typed=TYPED_SQL,
            stopped_on_server=stopped,
        )
    finally:
        fake.stop()


@pytest.fixture(scope="module", params=["duckdb", "trino"])
def sql(request: pytest.FixtureRequest) -> Iterator[SqlImpl]:
    """Every SqlBackend: embedded DuckDB, and Trino (the protocol-faithful fake)."""
    yield from {"duckdb": _duckdb, "trino": _trino}[request.param]()


# ---------------------------------------------------------------- BatchBackend


@dataclass(frozen=True)
class BatchImpl:
    """A BatchBackend, a way to build another one (another engine process re-attaching),
    and whoever plays the cluster's part."""

    name: str
    backend: BatchBackend
    another: Callable[[], BatchBackend]
    spec: Callable[[str], SparkAppSpec]  # count | fail | sleep
    play: Callable[[str, str], None]  # (external id, kind): the operator's part, if any
    working: Callable[[str], bool]  # the work itself runs (the JVM, the application)
    stopped: Callable[[str], bool]  # nothing of it is left on the machine / cluster
    unknown_id: str  # well formed for this backend, but never submitted
    lacks: dict[str, str] = field(default_factory=dict)


# Each kind prints what the tests look for: `MARKER 7000` once, `READY` before sleeping,
# and the failure's cause on stderr.
JOBS = {
    "count": "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.getOrCreate()\n"
    "print('MARKER', spark.range(7000).count(), flush=True)\n",
    "fail": "raise RuntimeError('disk on fire')\n",
    "sleep": "import time\nprint('READY', flush=True)\ntime.sleep(600)\n",
}
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
}


def _name(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def _spark_local(root: Path) -> Iterator[BatchImpl]:
    from engine.backends.spark_local import SparkLocalBackend, find_spark_submit

    if find_spark_submit() is None or shutil.which("java") is None:
        service_missing("Spark (pyspark's spark-submit and Java)")
    jobs = root / "jobs"
    jobs.mkdir()
    for kind, body in JOBS.items():
        (jobs / f"{kind}.py").write_text(body)
    backend = SparkLocalBackend(root / "spark")

    def spec(kind: str) -> SparkAppSpec:
        return SparkAppSpec(
            name=_name(kind),
            main_application_file=str(jobs / f"{kind}.py"),
            driver_memory="512m",
            spark_conf=SPARK_CONF,
        )

    def play(external_id: str, kind: str) -> None:
        pass  # real Spark plays its own part

    def group(external_id: str) -> list[str]:
        """Names of the live processes in the application's process group."""
        pgid, names = int(external_id.split("-")[1]), []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                head, rest = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = rest.split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                names.append(head.split("(", 1)[1])
        return names

    def working(external_id: str) -> bool:
        return "java" in group(external_id)  # the JVM runs in the job's process group

    def stopped(external_id: str) -> bool:
        return group(external_id) == []

    yield BatchImpl(
        "spark_local",
        backend,
        lambda: SparkLocalBackend(root / "spark"),
        spec,
        play,
        working,
        stopped,
        unknown_id=f"local-{os.getpid()}-0badc0de",  # a live pid, on purpose
    )
    for pid in (root / "spark").glob("*/pid"):  # nothing outlives the module, even a
        with contextlib.suppress(ProcessLookupError):  # job a failed test did not cancel
            os.killpg(int(pid.read_text()), signal.SIGKILL)


NS = "lakehouse-jobs"
OPERATOR_FAILURE = "driver container failed with ExitCode: 1, Reason: Error"


def _spark_operator() -> Iterator[BatchImpl]:
    from engine.backends.spark_operator import SparkOperatorBackend
    from tests.fakes.k8s_api import FakeKubernetes

    fake = FakeKubernetes().start()

    def make() -> SparkOperatorBackend:
        return SparkOperatorBackend(NS, api_server=fake.url, token="test-token")

    def spec(kind: str) -> SparkAppSpec:
        return SparkAppSpec(name=_name(kind), main_application_file=f"s3a://jobs/{kind}.py")

    def operator(name: str, kind: str) -> None:
        """What the Spark Operator and the driver pod do, as the status and log show it."""
        pod = f"{name}-driver"
        time.sleep(0.2)
        fake.set_state(NS, name, "SUBMITTED")
        fake.append_log(NS, pod, ["starting"])
        fake.set_state(NS, name, "RUNNING", driver_pod=pod, ui="10.0.0.5:4040")
        if kind == "count":
            fake.append_log(NS, pod, ["MARKER 7000", "done"])
            fake.set_state(NS, name, "COMPLETED", driver_pod=pod)
        elif kind == "fail":
            fake.append_log(NS, pod, ["Traceback:", "RuntimeError: disk on fire"])
            fake.set_state(NS, name, "FAILED", driver_pod=pod, message=OPERATOR_FAILURE)
        else:
            fake.append_log(NS, pod, ["READY"])  # runs until deleted

    def play(external_id: str, kind: str) -> None:
        threading.Thread(target=operator, args=(external_id, kind), daemon=True).start()

    try:
        yield BatchImpl(
            "spark_operator",
            make(),
            make,
            spec,
            play,
            lambda external_id: make().status(external_id).state == "running",
            lambda external_id: fake.get(NS, external_id) is None,
            unknown_id="never-submitted-1",
            lacks={
                "cancelled_seen_by_another_engine": "cancel deletes the SparkApplication "
                "(the only stop the operator offers); once it is gone, another engine "
                "cannot tell cancelled from lost",
            },
        )
    finally:
        fake.stop()


@pytest.fixture(scope="module", params=["spark_local", "spark_operator"])
def batch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchImpl]:
    """Every BatchBackend: real spark-submit in local mode, and the Spark Operator (the
    Kubernetes fake, with the test playing the operator)."""
    if request.param == "spark_local":
        yield from _spark_local(tmp_path_factory.mktemp("spark_local"))
    else:
        yield from _spark_operator()


# ---------------------------------------------------------------- ObjectStore


@dataclass(frozen=True)
class StoreImpl:
    name: str
    store: ObjectStore
    lacks: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StoreImpl:
    """Every ObjectStore: the local directory store, and S3 (SeaweedFS)."""
    if request.param == "local":
        from engine.backends.local_store import LocalStore

        return StoreImpl(
            "local",
            LocalStore(tmp_path_factory.mktemp("store")),
            lacks={
                "key_and_prefix": "a key is a file, so `a` and `a/b` cannot both exist "
                "(Iceberg never writes such keys)",
            },
        )
    from engine.backends.s3 import S3Store

    sw = request.getfixturevalue("seaweed")
    return StoreImpl(
        "s3",
        S3Store(sw.endpoint, sw.region, sw.access_key, sw.secret_key),
        lacks={
            "forget_empty_prefix": "SeaweedFS keeps the directory of a deleted key and "
            "lists it as a common prefix (AWS S3 and MinIO do not)",
        },
    )


# ---------------------------------------------------------------- CatalogBackend


@dataclass(frozen=True)
class CatalogImpl:
    name: str
    catalog: CatalogBackend
    location: Callable[[str], str | None]  # the location to give a new namespace, if any
    lacks: dict[str, str] = field(default_factory=dict)


def _sql_sqlite(root: Path) -> Iterator[CatalogImpl]:
    from engine.backends.iceberg import IcebergCatalog

    yield CatalogImpl(
        "sql_sqlite",
        IcebergCatalog.embedded(root),
        lambda ns: (root / "store" / ns).as_uri(),
    )


def _sql_postgres(root: Path) -> Iterator[CatalogImpl]:
    from engine.backends.iceberg import IcebergCatalog
    from tests.fixtures.postgres import new_database

    with new_database() as url:
        catalog = IcebergCatalog.sql(url, str(root / "warehouse"))
        yield CatalogImpl("sql_postgres", catalog, lambda ns: None)
        # pyiceberg's SQL engine holds connections; the database is dropped WITH (FORCE).


def _sql_s3(root: Path, request: pytest.FixtureRequest) -> Iterator[CatalogImpl]:
    from engine.backends.iceberg import IcebergCatalog

    sw = request.getfixturevalue("seaweed")
    bucket = f"wh-{uuid.uuid4().hex[:8]}"
    sw.s3_client().create_bucket(Bucket=bucket)
    catalog = IcebergCatalog.sql(
        f"sqlite:///{root / 'catalog.db'}",
        f"s3://{bucket}/warehouse",
        s3_endpoint=sw.endpoint,
        s3_region=sw.region,
        s3_access_key=sw.access_key,
        s3_secret_key=sw.secret_key,
    )
    yield CatalogImpl("sql_s3", catalog, lambda ns: f"s3://{bucket}/ws/{ns}")


def _rest(request: pytest.FixtureRequest) -> Iterator[CatalogImpl]:
    from engine.backends.iceberg import IcebergCatalog

    sw = request.getfixturevalue("seaweed")
    warehouse = f"tb{uuid.uuid4().hex[:8]}"
    sw.s3_client("s3tables").create_table_bucket(name=warehouse)
    catalog = IcebergCatalog.rest(
        sw.iceberg_uri,
        warehouse=warehouse,
        credential=f"{sw.access_key}:{sw.secret_key}",
        s3_endpoint=sw.endpoint,
        s3_region=sw.region,
        s3_access_key=sw.access_key,
        s3_secret_key=sw.secret_key,
    )
    yield CatalogImpl(
        "rest",
        catalog,
        lambda ns: None,  # S3 Tables place every table inside the table bucket
    )


@pytest.fixture(scope="module", params=["sql_sqlite", "sql_postgres", "sql_s3", "rest"])
def catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogImpl]:
    """Every CatalogBackend: the Iceberg SQL catalog on SQLite (warehouse on disk or on S3)
    and on PostgreSQL, and the Iceberg REST catalog of SeaweedFS."""
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "sql_sqlite":
        yield from _sql_sqlite(root)
    elif request.param == "sql_postgres":
        yield from _sql_postgres(root)
    elif request.param == "sql_s3":
        yield from _sql_s3(root, request)
    else:
        yield from _rest(request)
