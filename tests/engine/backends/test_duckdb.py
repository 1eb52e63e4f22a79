"""The DuckDB backend over a real pyiceberg SQL catalog: reads, CTAS/INSERT into Iceberg,
and the catalog loaded only when needed. What every SqlBackend does (row caps, streaming,
progress, cancel, errors with positions) is in tests/engine/backends/behaviour/."""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine.backends.base import QueryContext
from engine.backends.duckdb import DuckDBBackend
from engine.backends.iceberg import IcebergCatalog
from engine.errors import PermissionDenied, QueryError

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
def backend(catalog, tmp_path):
    b = DuckDBBackend(catalog.pyiceberg_catalog(), workspace_uri=(tmp_path / "s").as_uri())
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
    with pytest.raises(PermissionDenied, match=r"DELETE is not on the allow-list.*OR REPLACE"):
        run(backend, "DELETE FROM lake_bronze.readings WHERE meter = 1")
    assert catalog.table_info("lake_bronze.readings").total_records == 4


def test_a_missing_table_is_named(backend):
    with pytest.raises(QueryError, match=r"lake_bronze\.missing"):
        run(backend, "SELECT * FROM lake_bronze.missing")


def test_the_catalog_loads_only_for_a_statement_that_names_a_table(catalog, tmp_path):
    loads = []

    def load():  # what the factory passes: the catalog, on demand
        loads.append(1)
        return catalog.pyiceberg_catalog()

    b = DuckDBBackend(load, workspace_uri=(tmp_path / "s").as_uri())
    try:
        assert run(b, "SELECT count(*) AS n FROM range(10)")["n"][0].as_py() == 10
        assert loads == []
        assert run(b, "SELECT count(*) AS n FROM lake_bronze.readings")["n"][0].as_py() == 4
        run(b, "SELECT count(*) AS n FROM lake_bronze.readings")
        assert loads == [1]  # once, then kept
    finally:
        b.close()
