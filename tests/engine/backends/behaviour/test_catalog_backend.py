"""The CatalogBackend promises, run against every implementation (the Iceberg SQL catalog
on SQLite and on PostgreSQL, and SeaweedFS's Iceberg REST catalog): namespaces and their
properties, tables with schema, partitioning, properties and snapshots, rows as of a
snapshot or a time, and NotFound / Conflict / ValidationError for what cannot be."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from engine.errors import Conflict, NotFound, ValidationError
from tests.engine.backends.behaviour.conftest import CatalogImpl, lacking

SCHEMA = pa.schema(
    [
        pa.field("meter_id", pa.int64(), nullable=False),
        ("kwh", pa.float64()),
        ("region", pa.string()),
        ("read_on", pa.date32()),
        ("read_at", pa.timestamp("us")),
    ]
)


def rows(*meters: int, region: str = "n") -> pa.Table:
    n = len(meters)
    return pa.table(
        {
            "meter_id": list(meters),
            "kwh": [1.5 * m for m in meters],
            "region": [region] * n,
            "read_on": [datetime(2026, 11, 24).date()] * n,
            "read_at": [datetime(2026, 11, 24, 10, 30)] * n,
        },
        schema=SCHEMA,
    )


@pytest.fixture
def namespace(catalog: CatalogImpl) -> str:
    """A new namespace (with its location where the catalog takes one) for one test."""
    ns = f"ns_{uuid.uuid4().hex[:10]}"
    location = catalog.location(ns)
    props = {"owner": "tests"} | ({"location": location} if location else {})
    catalog.catalog.create_namespace((ns,), props)
    return ns


@pytest.fixture
def table(catalog: CatalogImpl, namespace: str) -> str:
    """`<namespace>.readings`, partitioned by region, with two appends (two snapshots)."""
    ident = f"{namespace}.readings"
    created = catalog.catalog.create_table(ident, SCHEMA, partition_by=["region"])  # type: ignore[attr-defined]
    created.append(rows(1, 2))
    time.sleep(0.01)  # distinct snapshot timestamps, so "as of" falls between them
    created.append(rows(3, region="s"))
    return ident


def test_a_namespace_is_listed_with_its_properties(catalog: CatalogImpl, namespace: str) -> None:
    cat = catalog.catalog
    assert cat.namespace_exists((namespace,))
    assert (namespace,) in cat.list_namespaces()
    assert cat.namespace_properties((namespace,))["owner"] == "tests"
    assert cat.list_tables((namespace,)) == []
    with pytest.raises(Conflict, match=namespace):
        cat.create_namespace((namespace,), {})


def test_a_missing_namespace_is_not_found(catalog: CatalogImpl) -> None:
    cat = catalog.catalog
    missing = (f"missing_{uuid.uuid4().hex[:8]}",)
    assert not cat.namespace_exists(missing)
    with pytest.raises(NotFound, match=missing[0]):
        cat.namespace_properties(missing)
    with pytest.raises(NotFound, match=missing[0]):
        cat.list_tables(missing)


def test_namespaces_nest(
    request: pytest.FixtureRequest, catalog: CatalogImpl, namespace: str
) -> None:
    lacking(request, catalog, "nested_namespaces")
    catalog.catalog.create_namespace((namespace, "child"), {})
    assert catalog.catalog.list_namespaces((namespace,)) == [(namespace, "child")]


def test_a_table_shows_its_schema_partitioning_and_location(
    catalog: CatalogImpl, namespace: str, table: str
) -> None:
    assert catalog.catalog.list_tables((namespace,)) == ["readings"]
    info = catalog.catalog.table_info(table)
    assert (info.namespace, info.name, info.identifier) == ((namespace,), "readings", table)
    assert [(c.name, c.type, c.required) for c in info.columns] == [
        ("meter_id", "long", True),
        ("kwh", "double", False),
        ("region", "string", False),
        ("read_on", "date", False),
        ("read_at", "timestamp", False),
    ]
    assert len({c.field_id for c in info.columns}) == 5
    assert info.partition_spec == ["region"] and info.sort_order == []
    location = catalog.location(namespace)
    if location:
        assert info.location.startswith(location)
    assert info.location.startswith(("file://", "s3://"))


def test_snapshots_form_a_history(catalog: CatalogImpl, table: str) -> None:
    info = catalog.catalog.table_info(table)
    first, second = info.snapshots
    assert first.parent_id is None and second.parent_id == first.snapshot_id
    assert info.current_snapshot_id == second.snapshot_id
    assert first.timestamp <= second.timestamp and second.timestamp.tzinfo is not None
    assert (first.operation, second.operation) == ("append", "append")
    assert first.summary["added-records"] == "2" and second.summary["added-records"] == "1"
    assert info.total_records == 3 and info.data_files == 2 and info.total_bytes > 0  # type: ignore[operator]


def test_a_new_table_has_no_snapshot(catalog: CatalogImpl, namespace: str) -> None:
    catalog.catalog.create_table(f"{namespace}.empty", SCHEMA)  # type: ignore[attr-defined]
    info = catalog.catalog.table_info(f"{namespace}.empty")
    assert (info.current_snapshot_id, info.snapshots, info.total_records) == (None, [], None)
    assert info.partition_spec == []
    assert catalog.catalog.sample_rows(f"{namespace}.empty", 10).num_rows == 0


def test_table_properties_show(catalog: CatalogImpl, table: str) -> None:
    loaded = catalog.catalog.pyiceberg_catalog().load_table(tuple(table.split(".")))
    with loaded.transaction() as txn:
        txn.set_properties({"sadeem.layer": "bronze", "comment": "meter readings"})
    properties = catalog.catalog.table_info(table).properties
    assert properties["sadeem.layer"] == "bronze" and properties["comment"] == "meter readings"


def test_sample_rows_as_of_a_snapshot_or_a_time(catalog: CatalogImpl, table: str) -> None:
    cat = catalog.catalog
    first, second = cat.table_info(table).snapshots
    now = cat.sample_rows(table, 10)
    assert sorted(now.column("meter_id").to_pylist()) == [1, 2, 3]
    assert now.schema.names == SCHEMA.names
    assert cat.sample_rows(table, 2).num_rows == 2
    at_first = cat.sample_rows(table, 10, snapshot_id=first.snapshot_id)
    assert sorted(at_first.column("meter_id").to_pylist()) == [1, 2]
    assert cat.sample_rows(table, 10, as_of=first.timestamp).num_rows == 2
    between = first.timestamp + (second.timestamp - first.timestamp) / 2
    assert first.timestamp < between < second.timestamp
    assert cat.sample_rows(table, 10, as_of=between).num_rows == 2
    assert cat.sample_rows(table, 10, as_of=datetime.now(UTC)).num_rows == 3
    with pytest.raises(NotFound):
        cat.sample_rows(table, 10, as_of=datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFound, match="123456789"):
        cat.sample_rows(table, 10, snapshot_id=123456789)


def test_a_write_through_the_catalog_shows_at_once(catalog: CatalogImpl, table: str) -> None:
    """DuckDB and Spark commit through pyiceberg_catalog(); readers see the new snapshot."""
    before = catalog.catalog.table_info(table).current_snapshot_id
    time.sleep(0.002)  # distinct snapshot timestamps
    loaded = catalog.catalog.pyiceberg_catalog().load_table(tuple(table.split(".")))
    loaded.append(rows(4))
    after = catalog.catalog.table_info(table)
    assert after.current_snapshot_id != before and after.total_records == 4
    assert len(after.snapshots) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda cat, ns: cat.table_info(f"{ns}.missing"),
        lambda cat, ns: cat.sample_rows(f"{ns}.missing", 1),
        lambda cat, ns: cat.table_info("missing_ns_zz.missing"),
    ],
    ids=["table_info", "sample_rows", "missing_namespace"],
)
def test_a_missing_table_is_not_found(catalog: CatalogImpl, namespace: str, call: Callable) -> None:
    with pytest.raises(NotFound, match="missing"):
        call(catalog.catalog, namespace)


def test_a_table_name_must_be_namespace_dot_table(catalog: CatalogImpl) -> None:
    for bad in ("not_qualified", "a.b.c", ".readings"):
        with pytest.raises(ValidationError):
            catalog.catalog.table_info(bad)


def test_a_duplicate_table_is_a_conflict_and_a_dropped_one_is_gone(
    catalog: CatalogImpl, namespace: str, table: str
) -> None:
    cat = catalog.catalog
    with pytest.raises(Conflict, match="readings"):
        cat.create_table(table, SCHEMA)  # type: ignore[attr-defined]
    cat.drop_table(table)  # type: ignore[attr-defined]
    assert not cat.table_exists(table)  # type: ignore[attr-defined]
    assert cat.list_tables((namespace,)) == []
    with pytest.raises(NotFound):
        cat.table_info(table)
    with pytest.raises(NotFound):
        cat.drop_table(table)  # type: ignore[attr-defined]


def test_health_counts_the_namespaces(catalog: CatalogImpl, namespace: str) -> None:
    health = catalog.catalog.test()
    assert health.ok and health.version
    assert health.detail == f"{len(catalog.catalog.list_namespaces())} namespace(s)"
