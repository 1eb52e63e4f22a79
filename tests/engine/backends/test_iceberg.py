"""Iceberg catalogs through pyiceberg, against real catalogs: the SQL catalog on SQLite and
PostgreSQL (warehouse on disk and on SeaweedFS S3), and SeaweedFS's Iceberg REST catalog."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from engine.backends.iceberg import IcebergCatalog
from engine.errors import Conflict, NotFound, ValidationError

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = pa.schema([("meter_id", pa.int64()), ("kwh", pa.float64()), ("region", pa.string())])


def exercise(catalog: IcebergCatalog, ns: str, location: str | None = None) -> None:
    """The whole CatalogBackend contract on one catalog."""
    catalog.create_namespace(
        (ns,), {"owner": "tests"} | ({"location": location} if location else {})
    )
    assert catalog.namespace_exists((ns,))
    assert (ns,) in catalog.list_namespaces()
    assert catalog.namespace_properties((ns,))["owner"] == "tests"
    with pytest.raises(Conflict):
        catalog.create_namespace((ns,), {})
    table = catalog.create_table(f"{ns}.readings", SCHEMA, partition_by=["region"])
    table.append(
        pa.table({"meter_id": [1, 2], "kwh": [1.5, 2.5], "region": ["n", "s"]}, schema=SCHEMA)
    )
    time.sleep(0.01)  # distinct snapshot timestamps
    between = datetime.now(UTC)
    time.sleep(0.01)
    catalog.load(f"{ns}.readings").append(
        pa.table({"meter_id": [3], "kwh": [9.0], "region": ["n"]}, schema=SCHEMA)
    )
    assert catalog.list_tables((ns,)) == ["readings"]
    info = catalog.table_info(f"{ns}.readings")
    assert [c.name for c in info.columns] == ["meter_id", "kwh", "region"]
    assert info.partition_spec == ["region"]
    assert len(info.snapshots) == 2 and info.total_records == 3
    assert info.data_files >= 2 and info.total_bytes > 0
    if location:
        assert info.location.startswith(location)
    first = info.snapshots[0].snapshot_id
    assert catalog.sample_rows(f"{ns}.readings", 10).num_rows == 3
    assert catalog.sample_rows(f"{ns}.readings", 10, snapshot_id=first).num_rows == 2
    assert catalog.sample_rows(f"{ns}.readings", 10, as_of=between).num_rows == 2
    assert catalog.sample_rows(f"{ns}.readings", 1).num_rows == 1
    with pytest.raises(NotFound):
        catalog.sample_rows(f"{ns}.readings", 10, as_of=datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFound, match="nope"):
        catalog.table_info(f"{ns}.nope")
    with pytest.raises(NotFound):
        catalog.list_tables(("no_such_namespace",))
    with pytest.raises(ValidationError):
        catalog.table_info("not-qualified")
    catalog.create_namespace((f"{ns}_empty",), {})  # a namespace without tables counts too
    health = catalog.test()
    assert health.ok and health.detail == f"{len(catalog.list_namespaces())} namespace(s)"
    catalog.drop_table(f"{ns}.readings")
    assert not catalog.table_exists(f"{ns}.readings")


def test_sql_catalog_on_sqlite(tmp_path):
    exercise(
        IcebergCatalog.embedded(tmp_path),
        "sales_bronze",
        (tmp_path / "store" / "sales" / "bronze").as_uri(),
    )


def test_sql_catalog_probe_reads_its_database_without_loading_pyiceberg(tmp_path):
    """The health probe of a SQL catalog: a fresh database has no namespaces yet, a
    database that is down is a clear error without its password, and neither needs the
    Iceberg client (checked in a fresh interpreter: this one has loaded it already)."""
    code = (
        "import sys\n"
        "from engine.backends.iceberg import IcebergCatalog\n"
        f"fresh = IcebergCatalog.sql('sqlite:///{tmp_path / 'new.db'}', '{tmp_path / 'wh'}')\n"
        "down = IcebergCatalog.sql('postgresql+psycopg2://u:pw-zz9@127.0.0.1:9/x', 'file:///w')\n"
        "print(fresh.test(), down.test(), 'pyiceberg' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "ok=True" in out and "0 namespace(s)" in out
    assert "error_kind='refused'" in out and "pw-zz9" not in out
    assert out.strip().endswith("False")


def test_sql_catalog_on_postgres(postgres_url, tmp_path):
    url = postgres_url.replace("+psycopg2", "+psycopg2")
    exercise(IcebergCatalog.sql(url, str(tmp_path / "wh")), "pg_bronze")


def test_sql_catalog_with_warehouse_on_s3(seaweed, tmp_path):
    bucket = f"wh-{uuid.uuid4().hex[:8]}"
    seaweed.s3_client().create_bucket(Bucket=bucket)
    catalog = IcebergCatalog.sql(
        f"sqlite:///{tmp_path / 'cat.db'}",
        f"s3://{bucket}/warehouse",
        s3_endpoint=seaweed.endpoint,
        s3_region=seaweed.region,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
    )
    exercise(catalog, "s3_bronze", f"s3://{bucket}/ws/s3/bronze")


def _rest(seaweed, warehouse: str, credential: str | None = None) -> IcebergCatalog:
    return IcebergCatalog.rest(
        seaweed.iceberg_uri,
        warehouse=warehouse,
        credential=credential or f"{seaweed.access_key}:{seaweed.secret_key}",
        s3_endpoint=seaweed.endpoint,
        s3_region=seaweed.region,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
    )


def test_rest_catalog_on_seaweedfs(seaweed):
    name = f"tb{uuid.uuid4().hex[:8]}"
    seaweed.s3_client("s3tables").create_table_bucket(name=name)
    exercise(_rest(seaweed, name), "rest_bronze")


def test_rest_catalog_errors_are_clear(seaweed):
    name = f"tb{uuid.uuid4().hex[:8]}"
    seaweed.s3_client("s3tables").create_table_bucket(name=name)
    bad = _rest(seaweed, name, credential="nobody:wrong-secret-xyz").test()
    assert not bad.ok and "wrong-secret-xyz" not in bad.detail
    wrong_warehouse = _rest(seaweed, "no_such_warehouse_zz").test()
    assert not wrong_warehouse.ok
    down = IcebergCatalog.rest("http://127.0.0.1:9", warehouse="x").test()
    assert not down.ok and down.error_kind == "refused"
