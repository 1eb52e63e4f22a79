"""The DuckDB backend over a real pyiceberg SQL catalog: reads, CTAS/INSERT into Iceberg,
row caps, progress, cancel, and errors with positions."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from engine.backends.base import QueryContext
from engine.backends.duckdb import DuckDBBackend
from engine.backends.iceberg import IcebergCatalog
from engine.errors import QueryCancelled, QueryError

CTX = QueryContext(user="ana")


@pytest.fixture
def catalog(tmp_path):
    cat = IcebergCatalog.embedded(tmp_path)
    cat.create_namespace(("lake_bronze",), {"location": (tmp_path / "s" / "bronze").as_uri()})
    cat.create_namespace(("lake_gold",), {"location": (tmp_path / "s" / "gold").as_uri()})
    table = cat.create_table(
        "lake_bronze.readings", pa.schema([("meter", pa.int64()), ("kwh", pa.float64())])
    )
    table.append(pa.table({"meter": [1, 1, 2, 3], "kwh": [1.0, 2.0, 5.0, 0.5]}))
    return cat


@pytest.fixture
def backend(catalog):
    b = DuckDBBackend(catalog.pyiceberg_catalog())
    yield b
    b.close()


def run(backend, sql: str) -> pa.Table:
    return backend.execute(sql, CTX).fetch()


def test_reads_iceberg_and_sees_new_snapshots(backend, catalog):
    out = run(
        backend,
        "SELECT meter, sum(kwh) AS kwh FROM lake_bronze.readings GROUP BY meter ORDER BY meter",
    )
    assert out.to_pydict() == {"meter": [1, 2, 3], "kwh": [3.0, 5.0, 0.5]}
    catalog.load("lake_bronze.readings").append(pa.table({"meter": [4], "kwh": [1.0]}))
    assert run(backend, "SELECT count(*) AS n FROM lake_bronze.readings")["n"][0].as_py() == 5


def test_ctas_insert_overwrite_and_drop(backend, catalog):
    res = run(
        backend,
        "CREATE TABLE lake_gold.usage AS SELECT meter, sum(kwh) AS kwh "
        "FROM lake_bronze.readings GROUP BY meter",
    )
    assert res.to_pydict() == {"table": ["lake_gold.usage"], "rows": [3]}
    info = catalog.table_info("lake_gold.usage")
    assert info.total_records == 3 and info.location.startswith(
        catalog.namespace_properties(("lake_gold",))["location"]
    )
    run(backend, "INSERT INTO lake_gold.usage SELECT 9, 9.5")
    assert len(catalog.table_info("lake_gold.usage").snapshots) == 2
    assert run(backend, "SELECT sum(kwh) AS s FROM lake_gold.usage")["s"][0].as_py() == 18.0
    with pytest.raises(QueryError, match="already exists"):
        run(backend, "CREATE TABLE lake_gold.usage AS SELECT 1 AS meter")
    run(backend, "CREATE OR REPLACE TABLE lake_gold.usage AS SELECT 1 AS meter, 2.0 AS kwh")
    assert catalog.sample_rows("lake_gold.usage", 10).num_rows == 1
    run(backend, "DROP TABLE lake_gold.usage")
    assert not catalog.table_exists("lake_gold.usage")


def test_failed_ctas_leaves_nothing_behind(backend, catalog):
    with pytest.raises(QueryError):
        run(
            backend,
            "CREATE TABLE lake_gold.broken AS SELECT no_such_column FROM lake_bronze.readings",
        )
    assert not catalog.table_exists("lake_gold.broken")
    with pytest.raises(QueryError, match="embedded DuckDB engine cannot"):
        run(backend, "DELETE FROM lake_bronze.readings WHERE meter = 1")
    assert catalog.table_info("lake_bronze.readings").total_records == 4


def test_errors_carry_positions(backend):
    with pytest.raises(QueryError) as info:
        run(backend, "SELECT 1,\n  2 +* 3")
    assert info.value.line == 2 and info.value.column is not None
    with pytest.raises(QueryError, match=r"lake_bronze\.missing"):
        run(backend, "SELECT * FROM lake_bronze.missing")
    with pytest.raises(QueryError) as info:
        run(backend, "SELEC 1")
    assert info.value.line == 1


def test_row_cap_fetch_more_and_streaming(backend):
    query = backend.execute("SELECT range AS x FROM range(200000)", CTX)
    first = query.fetch(1000)
    assert first.num_rows == 1000 and first["x"][999].as_py() == 999
    second = query.fetch(150000)
    assert second.num_rows == 150000 and second["x"][0].as_py() == 1000
    rest = query.fetch()
    assert rest.num_rows == 49000
    assert query.progress().state == "FINISHED"
    streamed = backend.execute("SELECT range AS x FROM range(300000)", CTX)
    sizes = [b.num_rows for b in streamed.batches()]
    assert sum(sizes) == 300000 and len(sizes) > 1


def test_cancel_stops_a_long_query_with_progress(backend):
    seen = []
    query = backend.execute(
        "SELECT sum(a.range * b.range) FROM range(2000000000) a, range(1000) b "
        "WHERE a.range % 1000 = b.range",
        CTX,
        on_progress=seen.append,
    )
    timer = threading.Timer(1.0, query.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(QueryCancelled):
        query.fetch()
    assert time.monotonic() - started < 30
    assert query.progress().state == "CANCELLED"
    assert seen and seen[0].state == "RUNNING"


def test_health(backend):
    result = backend.test()
    assert result.ok and result.version.startswith("DuckDB")


def test_the_catalog_loads_only_for_a_statement_that_names_a_table(catalog):
    loads = []

    def load():  # what the factory passes: the catalog, on demand
        loads.append(1)
        return catalog.pyiceberg_catalog()

    b = DuckDBBackend(load)
    try:
        assert run(b, "SELECT count(*) AS n FROM range(10)")["n"][0].as_py() == 10
        assert loads == []
        assert run(b, "SELECT count(*) AS n FROM lake_bronze.readings")["n"][0].as_py() == 4
        run(b, "SELECT count(*) AS n FROM lake_bronze.readings")
        assert loads == [1]  # once, then kept
    finally:
        b.close()
