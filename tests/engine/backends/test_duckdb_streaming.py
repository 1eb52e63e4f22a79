"""The embedded engine reads and writes Iceberg tables as streams (issue 17, items 3 and 4):
a table on S3 (SeaweedFS with its Iceberg REST catalog) or one with deletes or an evolved
schema is never materialised whole, and is read right, again and again, from any cursor;
a CTAS or INSERT that fails midway leaves no file and no snapshot, on disk and on S3.
Memory and time are measured in tests/bench/test_bench_iceberg_stream.py."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.table import DataScan

from engine.backends import iceberg_stream
from engine.backends.base import QueryContext
from engine.backends.duckdb import DuckDBBackend
from engine.backends.iceberg import IcebergCatalog
from engine.errors import QueryError

CTX = QueryContext(user="ana")
SCHEMA = pa.schema([("meter", pa.int64()), ("kwh", pa.float64())])


def run(backend: DuckDBBackend, sql: str) -> pa.Table:
    return backend.execute(sql, CTX).fetch()


@pytest.fixture(scope="module")
def rest(seaweed):
    """A REST catalog whose tables live in a SeaweedFS table bucket (S3)."""
    warehouse = f"tb{uuid.uuid4().hex[:8]}"
    seaweed.s3_client("s3tables").create_table_bucket(name=warehouse)
    cat = IcebergCatalog.rest(
        seaweed.iceberg_uri,
        warehouse=warehouse,
        credential=f"{seaweed.access_key}:{seaweed.secret_key}",
        s3_endpoint=seaweed.endpoint,
        s3_region=seaweed.region,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
    )
    cat.create_namespace(("lake",), {})
    return cat


def _root(location: str) -> str:
    return f"s3://{urlparse(location).netloc}/"


def _objects(table_location: str, io) -> set[str]:
    """Every object of the table's bucket (the whole bucket: a stray file anywhere counts)."""
    from pyarrow.fs import FileSelector, FileType

    fs = iceberg_stream._filesystem(io, table_location)
    bucket = urlparse(table_location).netloc
    infos = fs.get_file_info(FileSelector(bucket, recursive=True))
    # SeaweedFS's REST catalog keeps its own record of every staged create (a CTAS's
    # transaction), failed or not, under .iceberg_staged/: the catalog's, not the write's.
    return {i.path for i in infos if i.type == FileType.File and "/.iceberg_staged/" not in i.path}


@pytest.fixture
def no_materialising(monkeypatch):
    """Reading a whole table into Arrow is what the stream replaces: make it an error."""

    def refuse(*_a, **_k):
        raise AssertionError("the table was materialised with scan().to_arrow()")

    monkeypatch.setattr(DataScan, "to_arrow", refuse)


def _count_plans(monkeypatch) -> list[int]:
    plans: list[int] = []
    original = DataScan.plan_files

    def counted(self):
        plans.append(1)
        return original(self)

    monkeypatch.setattr(DataScan, "plan_files", counted)
    return plans


def test_a_remote_table_is_streamed_again_and_again_from_every_cursor(
    rest, no_materialising, monkeypatch
):
    name = f"lake.r{uuid.uuid4().hex[:6]}"
    table = rest.create_table(name, SCHEMA)
    table.append(pa.table({"meter": [1, 2, 3], "kwh": [1.0, 2.0, 3.0]}, schema=SCHEMA))
    table.append(pa.table({"meter": [4, 5], "kwh": [4.0, 5.0]}, schema=SCHEMA))
    backend = DuckDBBackend(rest.pyiceberg_catalog(), workspace_uri=_root(table.location()))
    plans = _count_plans(monkeypatch)
    try:
        sql = f"SELECT count(*) AS n, sum(kwh) AS s, max(meter) AS m FROM {name}"
        want = {"n": [5], "s": [15.0], "m": [5]}
        assert run(backend, sql).to_pydict() == want
        assert run(backend, sql).to_pydict() == want  # the same stream source, read again
        # Two queries open at once, each on its own cursor, both reading the table.
        first = backend.execute(f"SELECT meter FROM {name} ORDER BY meter", CTX)
        assert first.fetch(2).to_pydict() == {"meter": [1, 2]}
        assert run(backend, sql).to_pydict() == want
        assert first.fetch().to_pydict() == {"meter": [3, 4, 5]}
        assert plans == [1]  # planned once for the snapshot, whatever the queries
        table.append(pa.table({"meter": [6], "kwh": [6.0]}, schema=SCHEMA))
        assert run(backend, sql).to_pydict() == {"n": [6], "s": [21.0], "m": [6]}
        assert len(plans) == 2  # a new snapshot is planned again
    finally:
        backend.close()


def test_count_of_a_remote_table_reads_no_column(rest, monkeypatch):
    """`count(*)` needs row counts only, which the files' footers hold: DuckDB must not be
    handed a column of the table to read for it (a 6M-row table on S3 took 2.5x the local
    time reading one), and the table shows exactly its own columns."""
    name = f"lake.c{uuid.uuid4().hex[:6]}"
    table = rest.create_table(name, SCHEMA)
    table.append(pa.table({"meter": [1, 2, 3], "kwh": [1.0, 2.0, 3.0]}, schema=SCHEMA))
    table.append(pa.table({"meter": [4, 5], "kwh": [4.0, 5.0]}, schema=SCHEMA))
    odd = f"lake.o{uuid.uuid4().hex[:6]}"  # a table with a column of the marker's name
    odd_schema = pa.schema([("meter", pa.int64()), (iceberg_stream.ROWS_COLUMN, pa.int64())])
    rest.create_table(odd, odd_schema).append(
        pa.table({"meter": [1, 2], iceberg_stream.ROWS_COLUMN: [7, 8]}, schema=odd_schema)
    )
    asked: list[list[str]] = []
    dataset = iceberg_stream._lean_dataset_class()
    original = dataset.scanner

    def recorded(self, columns=None, filter=None, **kw):
        asked.append(list(columns or []))
        return original(self, columns=columns, filter=filter, **kw)

    monkeypatch.setattr(dataset, "scanner", recorded)
    backend = DuckDBBackend(rest.pyiceberg_catalog(), workspace_uri=_root(table.location()))
    try:
        assert run(backend, f"SELECT count(*) AS n FROM {name}").to_pydict() == {"n": [5]}
        assert asked and all(not set(cols) & {"meter", "kwh"} for cols in asked)
        where = f"SELECT count(*) AS n FROM {name} WHERE meter > 3"
        assert run(backend, where).to_pydict() == {"n": [2]}
        assert run(backend, f"SELECT * FROM {name} ORDER BY meter").column_names == [
            "meter",
            "kwh",
        ]
        got = run(backend, f"SELECT * FROM {odd} ORDER BY meter").to_pydict()
        assert got == {"meter": [1, 2], iceberg_stream.ROWS_COLUMN: [7, 8]}
        assert run(backend, f"SELECT count(*) AS n FROM {odd}").to_pydict() == {"n": [2]}
    finally:
        backend.close()


def test_a_rest_workspace_query_loads_no_sqlalchemy(seaweed, rest):
    """Only a SQL catalog's tables are checked through SQLAlchemy: a REST workspace's first
    query must not import it (0.3-0.8 s of a `count(*)` that otherwise takes ~1 s)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    name = f"lake.s{uuid.uuid4().hex[:6]}"
    table = rest.create_table(name, SCHEMA)
    table.append(pa.table({"meter": [1], "kwh": [1.0]}, schema=SCHEMA))
    props = rest.pyiceberg_catalog().properties
    code = (
        "import json, sys\n"
        "from engine.backends.base import QueryContext\n"
        "from engine.backends.duckdb import DuckDBBackend\n"
        "from engine.backends.iceberg import IcebergCatalog\n"
        "c = json.loads(sys.argv[1])\n"
        "cat = IcebergCatalog.rest(c['uri'], warehouse=c['warehouse'], credential=c['cred'],"
        " s3_endpoint=c['endpoint'], s3_region=c['region'], s3_access_key=c['key'],"
        " s3_secret_key=c['secret'])\n"
        "b = DuckDBBackend(cat.pyiceberg_catalog(), workspace_uri=c['root'])\n"
        "n = b.execute(f\"SELECT count(*) AS n FROM {c['table']}\", QueryContext(user='a'))\n"
        "print(json.dumps([n.fetch()['n'][0].as_py(), 'sqlalchemy' in sys.modules]))\n"
    )
    cfg = {
        "uri": seaweed.iceberg_uri,
        "warehouse": props["warehouse"],
        "cred": f"{seaweed.access_key}:{seaweed.secret_key}",
        "endpoint": seaweed.endpoint,
        "region": seaweed.region,
        "key": seaweed.access_key,
        "secret": seaweed.secret_key,
        "root": _root(table.location()),
        "table": name,
    }
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, False]


def test_a_remote_table_with_deletes_and_an_evolved_schema_is_read_right(rest, no_materialising):
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record
    from pyiceberg.types import StringType

    name = f"lake.e{uuid.uuid4().hex[:6]}"
    table = rest.create_table(name, SCHEMA)
    table.append(pa.table({"meter": [1, 2, 3], "kwh": [1.0, 2.0, 3.0]}, schema=SCHEMA))
    # Old files keep the old names: a rename is mapped by field id, not by name.
    with table.update_schema() as update:
        update.rename_column("kwh", "energy")
        update.add_column("site", StringType())
    table = rest.load(name)
    table.append(
        pa.table({"meter": [4], "energy": [4.0], "site": ["b"]}, schema=table.schema().as_arrow())
    )
    # A positional delete of the first file's row 1 (meter 2), inside the table's location.
    data_file = next(
        t.file.file_path for t in table.scan().plan_files() if t.file.record_count == 3
    )
    deletes_uri = f"{table.location()}/data/deletes-{uuid.uuid4().hex}.parquet"
    fs = iceberg_stream._filesystem(table.io, deletes_uri)
    with fs.open_output_stream(iceberg_stream._fs_path(deletes_uri)) as out:
        pq.write_table(pa.table({"file_path": [data_file], "pos": pa.array([1], pa.int64())}), out)
    delete_file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=deletes_uri,
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=1,
        file_size_in_bytes=fs.get_file_info(iceberg_stream._fs_path(deletes_uri)).size,
    )
    delete_file.spec_id = 0
    with table.transaction() as tx, tx.update_snapshot().fast_append() as append:
        append.append_data_file(delete_file)
    backend = DuckDBBackend(rest.pyiceberg_catalog(), workspace_uri=_root(table.location()))
    try:
        sql = f"SELECT meter, energy, site FROM {name} ORDER BY meter"
        want = {"meter": [1, 3, 4], "energy": [1.0, 3.0, 4.0], "site": [None, None, "b"]}
        assert run(backend, sql).to_pydict() == want
        assert run(backend, sql).to_pydict() == want
    finally:
        backend.close()


FAILING = (
    # Rows stream out in order on one thread; the error comes after several chunks.
    "SELECT i AS meter, CASE WHEN i < 2000000 THEN i * 1.0 ELSE error('boom') END AS kwh "
    "FROM range(3000000) t(i)"
)


def _failing_write(backend: DuckDBBackend, sql: str, monkeypatch) -> list[int]:
    """Run a write that fails midway with small chunks; returns the chunks it wrote."""
    chunks: list[int] = []
    original = iceberg_stream._chunk

    def counted(*args):
        chunks.append(1)
        return original(*args)

    # Small row groups, a new file every few: the error finds closed files and an open one.
    monkeypatch.setattr(iceberg_stream, "ROW_GROUP_BYTES", 256 * 1024)
    monkeypatch.setattr(iceberg_stream, "FILE_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(iceberg_stream, "_chunk", counted)
    with pytest.raises(QueryError, match="boom"):
        run(backend, sql)
    return chunks


def test_a_failed_streaming_write_on_s3_leaves_no_object_and_no_snapshot(rest, monkeypatch):
    name = f"lake.w{uuid.uuid4().hex[:6]}"
    table = rest.create_table(name, SCHEMA)
    table.append(pa.table({"meter": [1], "kwh": [1.0]}, schema=SCHEMA))
    backend = DuckDBBackend(
        rest.pyiceberg_catalog(), workspace_uri=_root(table.location()), threads=1
    )
    before = _objects(table.location(), table.io)
    try:
        new = f"lake.n{uuid.uuid4().hex[:6]}"
        assert len(_failing_write(backend, f"CREATE TABLE {new} AS {FAILING}", monkeypatch)) >= 3
        assert not rest.table_exists(new)
        assert len(_failing_write(backend, f"INSERT INTO {name} {FAILING}", monkeypatch)) >= 3
        assert len(rest.load(name).snapshots()) == 1
        assert _objects(table.location(), table.io) == before
        # The same write without the error streams into several files of one snapshot.
        monkeypatch.setattr(iceberg_stream, "FILE_BYTES", 1024 * 1024)
        run(backend, f"INSERT INTO {name} SELECT i, i * 1.0 FROM range(300000) t(i)")
        after = rest.load(name)
        assert len(after.snapshots()) == 2
        assert len(list(after.scan().plan_files())) >= 3
        assert run(backend, f"SELECT count(*) AS n FROM {name}")["n"][0].as_py() == 300001
    finally:
        backend.close()


def test_a_failed_streaming_write_on_disk_leaves_no_file_and_no_snapshot(tmp_path, monkeypatch):
    cat = IcebergCatalog.embedded(tmp_path)
    store = tmp_path / "s"
    cat.create_namespace(("lake",), {"location": (store / "lake").as_uri()})
    cat.create_table("lake.t", SCHEMA).append(pa.table({"meter": [1], "kwh": [1.0]}, schema=SCHEMA))
    backend = DuckDBBackend(cat.pyiceberg_catalog(), workspace_uri=store.as_uri(), threads=1)
    before = {p for p in store.rglob("*") if p.is_file()}
    try:
        assert len(_failing_write(backend, f"CREATE TABLE lake.n AS {FAILING}", monkeypatch)) >= 3
        assert not cat.table_exists("lake.n")
        assert len(_failing_write(backend, f"INSERT INTO lake.t {FAILING}", monkeypatch)) >= 3
        assert len(cat.load("lake.t").snapshots()) == 1
        assert {p for p in store.rglob("*") if p.is_file()} == before
    finally:
        backend.close()


def test_a_streamed_write_fills_a_file_row_group_by_row_group(tmp_path, monkeypatch):
    """Rows go to the open data file as they come, one row group at a time (memory: a row
    group, not a file), with the statistics pyiceberg's own writer records."""
    cat = IcebergCatalog.embedded(tmp_path)
    store = tmp_path / "s"
    cat.create_namespace(("lake",), {"location": (store / "lake").as_uri()})
    monkeypatch.setattr(iceberg_stream, "ROW_GROUP_BYTES", 256 * 1024)
    backend = DuckDBBackend(cat.pyiceberg_catalog(), workspace_uri=store.as_uri(), threads=1)
    try:
        sql = "CREATE TABLE lake.g AS SELECT i AS meter, i * 0.5 AS kwh FROM range(400000) t(i)"
        assert run(backend, sql)["rows"][0].as_py() == 400000
        tasks = list(cat.load("lake.g").scan().plan_files())
        assert len(tasks) == 1  # far below the target file size: one file
        data = tasks[0].file
        assert data.record_count == 400000
        assert pq.ParquetFile(urlparse(data.file_path).path).metadata.num_row_groups >= 3
        assert data.lower_bounds[1] == (0).to_bytes(8, "little")
        assert data.upper_bounds[1] == (399999).to_bytes(8, "little")
        got = run(backend, "SELECT count(*) AS n, sum(meter) AS s FROM lake.g").to_pydict()
        assert got == {"n": [400000], "s": [sum(range(400000))]}
    finally:
        backend.close()


def test_an_insert_into_a_partitioned_table_is_split_by_partition(tmp_path):
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import DoubleType, LongType, NestedField

    cat = IcebergCatalog.embedded(tmp_path)
    store = tmp_path / "s"
    cat.create_namespace(("lake",), {"location": (store / "lake").as_uri()})
    iceberg = cat.pyiceberg_catalog().create_table(
        ("lake", "p"),
        schema=Schema(
            NestedField(1, "site", LongType(), required=False),
            NestedField(2, "kwh", DoubleType(), required=False),
        ),
        partition_spec=PartitionSpec(
            PartitionField(source_id=1, field_id=1000, transform=IdentityTransform(), name="site")
        ),
    )
    backend = DuckDBBackend(cat.pyiceberg_catalog(), workspace_uri=store.as_uri(), threads=1)
    try:
        run(backend, "INSERT INTO lake.p SELECT i % 3, i * 1.0 FROM range(3000) t(i)")
        tasks = list(iceberg.refresh().scan().plan_files())
        assert sorted(t.file.partition[0] for t in tasks) == [0, 1, 2]
        got = run(backend, "SELECT site, count(*) AS n FROM lake.p GROUP BY site ORDER BY site")
        assert got.to_pydict() == {"site": [0, 1, 2], "n": [1000, 1000, 1000]}
    finally:
        backend.close()
