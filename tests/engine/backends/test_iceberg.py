"""What only one Iceberg catalog does: the SQL catalog's probe reads its database without
pyiceberg, the REST catalog's errors are clear. The shared contract, on every catalog, is in
tests/engine/backends/behaviour/test_catalog_backend.py."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from engine.backends.iceberg import IcebergCatalog

ROOT = Path(__file__).resolve().parents[3]


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


def test_rest_catalog_errors_are_clear(seaweed):
    name = f"tb{uuid.uuid4().hex[:8]}"
    seaweed.s3_client("s3tables").create_table_bucket(name=name)
    bad = _rest(seaweed, name, credential="nobody:wrong-secret-xyz").test()
    assert not bad.ok and "wrong-secret-xyz" not in bad.detail
    wrong_warehouse = _rest(seaweed, "no_such_warehouse_zz").test()
    assert not wrong_warehouse.ok
    down = IcebergCatalog.rest("http://127.0.0.1:9", warehouse="x").test()
    assert not down.ok and down.error_kind == "refused"
