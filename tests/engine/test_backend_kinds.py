"""Backend kinds are declared once, by their module, and everything else derives from that
declaration: a toy catalog registered from a test module (tests/fakes/toy_catalog.py) is
listed by `connection types`, validated, usable as a workspace's catalog and tested by
health with no other change (the console's form: tests/tui/test_connection_kinds.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.backends import kinds
from engine.cli.main import main
from engine.context import Actor
from engine.errors import ValidationError
from tests.fakes import toy_catalog

ADMIN = Actor("admin", "test")


@pytest.fixture
def toy() -> Iterator[kinds.Kind]:
    with toy_catalog.registered() as kind:
        yield kind


def _cli(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--data-dir", str(data_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_registered_kind_is_listed_by_connection_types(
    toy: kinds.Kind, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, tmp_path, "connection", "types", "--json")
    assert code == 0
    rows = {(r["type"], r["field"]): r for r in json.loads(out)}
    assert rows[("toy_catalog", "warehouse")]["required"] is True
    assert rows[("toy_catalog", "token")]["secret"] is True
    assert rows[("toy_catalog", "namespaces")]["default"] == "toy_a,toy_b"
    assert rows[("toy_catalog", "warehouse")]["role"] == "catalog"
    # Every kind gets the deadline field.
    assert rows[("toy_catalog", "timeout_s")]["kind"] == "int"


def test_a_kind_is_gone_once_unregistered(tmp_path: Path, capsys) -> None:
    with toy_catalog.registered():
        pass
    code, out, _ = _cli(capsys, tmp_path, "connection", "types", "--json")
    assert code == 0 and "toy_catalog" not in out
    code, _, err = _cli(
        capsys,
        tmp_path,
        "connection",
        "create",
        "t",
        "--type",
        "toy_catalog",
        "--set",
        "warehouse=w",
    )
    assert code != 0 and "unknown connection type 'toy_catalog'" in err


def test_a_registered_kind_is_validated_from_its_fields(toy: kinds.Kind, services) -> None:
    with pytest.raises(ValidationError) as missing:
        services.connections.create(ADMIN, "toy", "toy_catalog", {})
    assert missing.value.field == "config.warehouse"
    with pytest.raises(ValidationError) as bounded:
        services.connections.create(ADMIN, "toy", "toy_catalog", {"warehouse": "w", "retries": 10})
    assert bounded.value.field == "config.retries"
    with pytest.raises(ValidationError) as unknown:
        services.connections.create(ADMIN, "toy", "toy_catalog", {"warehouse": "w", "uri": "x"})
    assert unknown.value.field == "config.uri"
    # Credentials belong in its secret field, never in another one.
    with pytest.raises(ValidationError) as leaked:
        services.connections.create(
            ADMIN, "toy", "toy_catalog", {"warehouse": "http://u:pw@host/w"}
        )
    assert leaked.value.field == "config.warehouse" and "token" in str(leaked.value)
    assert services.connections.list(ADMIN) == []  # nothing was written

    view = services.connections.create(
        ADMIN, "toy", "toy_catalog", {"warehouse": "w", "token": toy_catalog.PASSWORD}
    )
    # Defaults applied, the secret stored as a reference and shown masked.
    assert view.config["namespaces"] == "toy_a,toy_b" and view.config["retries"] == 3
    assert toy_catalog.PASSWORD not in json.dumps(view.config)
    assert view.config["token"].startswith("***")


def test_a_registered_catalog_kind_is_a_workspace_catalog_and_health_tests_it(
    toy: kinds.Kind, services
) -> None:
    services.connections.create(
        ADMIN, "toy", "toy_catalog", {"warehouse": "w", "token": toy_catalog.PASSWORD}
    )
    services.connections.create(
        ADMIN, "wrong", "toy_catalog", {"warehouse": "w", "token": "not-it"}
    )
    services.connections.create(ADMIN, "far", "toy_catalog", {"warehouse": "unreachable"})
    # Its role says where it fits: a catalog, never a SQL engine.
    ws = services.workspaces.create(ADMIN, "sales", catalog_connection="toy")
    assert ws.catalog_connection == "toy"
    with pytest.raises(ValidationError) as wrong_role:
        services.workspaces.create(ADMIN, "ops", sql_connection="toy")
    assert wrong_role.value.field == "sql_connection" and "trino" in str(wrong_role.value)
    assert services.lakehouse.catalog(ADMIN, ws).list_namespaces() == [("toy_a",), ("toy_b",)]

    ok = services.health.test(ADMIN, "toy")
    assert ok.ok and ok.version == "toy 1.0" and ok.detail == "2 namespace(s)"
    refused = services.health.test(ADMIN, "wrong")
    assert not refused.ok and refused.error_kind == "auth"
    far = services.health.test(ADMIN, "far")
    assert not far.ok and far.error_kind == "refused" and "no route" in far.detail
    every = {h.name: h.ok for h in services.health.check_all(ADMIN)}
    assert every["toy"] and not every["wrong"] and not every["far"]


def test_connection_test_on_the_cli_uses_the_kinds_probe(
    toy: kinds.Kind, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("SADEEM_SECRET_TOY", toy_catalog.PASSWORD)
    create = ("connection", "create", "toy", "--type", "toy_catalog", "--set", "warehouse=w")
    code, _, err = _cli(capsys, tmp_path, *create, "--set", "token=env:SADEEM_SECRET_TOY")
    assert code == 0, err
    code, out, _ = _cli(capsys, tmp_path, "connection", "test", "toy", "--json")
    assert code == 0 and json.loads(out)["version"] == "toy 1.0"


def test_every_builtin_kind_declares_a_role_and_unique_fields() -> None:
    """The roles the README names; sql kinds name the dialect their SQL is parsed with."""
    declared = kinds.all_kinds()
    assert set(declared) >= {
        "s3", "iceberg_rest", "iceberg_sql", "trino", "duckdb",
        "spark_operator", "spark_local", "postgres",
    }  # fmt: skip
    assert {k.role for k in declared.values()} <= set(kinds.ROLES)
    assert set(kinds.names("sql")) == {"trino", "duckdb"}
    assert {k.dialect for k in declared.values() if k.role == "sql"} == {"trino", "duckdb"}


# -- the catalog a catalog connection names is its field, never the connection's name -------


def test_an_iceberg_sql_connection_reads_the_catalog_its_catalog_name_names(
    services, tmp_path: Path
) -> None:
    """Spark's JDBC catalog `lake` (spark.sql.catalog.lake) holds `raw`; a connection named
    spark_lake with catalog_name=lake sees `raw`, in the workspace and in its test."""
    from engine.backends.iceberg import IcebergCatalog

    uri, warehouse = f"sqlite:///{tmp_path / 'jdbc.db'}", str(tmp_path / "wh")
    spark = IcebergCatalog.sql(uri, warehouse, name="lake")
    spark.create_namespace(("raw",), {})
    spark.create_namespace(("curated",), {})
    IcebergCatalog.sql(uri, warehouse, name="other").create_namespace(("elsewhere",), {})
    config = {"uri": uri, "warehouse": warehouse}
    services.connections.create(
        ADMIN, "spark_lake", "iceberg_sql", {**config, "catalog_name": "lake"}
    )
    services.connections.create(ADMIN, "defaulted", "iceberg_sql", config)

    ws = services.workspaces.create(ADMIN, "sales", catalog_connection="spark_lake")
    assert sorted(services.lakehouse.catalog(ADMIN, ws).list_namespaces()) == [
        ("curated",),
        ("raw",),
    ]
    tested = services.health.test(ADMIN, "spark_lake")
    assert tested.ok and tested.detail == "2 namespace(s)"
    # The declared default: the embedded catalog's name, which this database does not hold.
    assert services.connections.get(ADMIN, "defaulted").config["catalog_name"] == "sadeem"
    assert services.health.test(ADMIN, "defaulted").detail == "0 namespace(s)"


def test_duckdb_takes_no_catalog_connection_field(services) -> None:
    """It was accepted and never read: a DuckDB reads its workspace's catalog."""
    with pytest.raises(ValidationError) as refused:
        services.connections.create(ADMIN, "duck", "duckdb", {"catalog_connection": "lake"})
    assert refused.value.field == "config.catalog_connection"


def test_an_iceberg_sql_connection_saved_before_catalog_name_keeps_its_catalog(
    db_url: str,
) -> None:
    """It read the catalog named like itself; the migration writes that name down (and
    the downgrade takes it out again, for the code before it)."""
    from sqlalchemy import insert, select

    from engine.db import downgrade, make_engine, upgrade
    from engine.models import Connection, utcnow

    engine = make_engine(db_url)
    table = Connection.__table__
    try:
        upgrade(engine, "0004")
        with engine.begin() as c:
            now = utcnow()
            for name, conn_type in (("spark_lake", "iceberg_sql"), ("store", "s3")):
                c.execute(
                    insert(table).values(
                        name=name,
                        type=conn_type,
                        config={"uri": "postgresql://db/x", "warehouse": "s3://w"},
                        description="",
                        created_at=now,
                        updated_at=now,
                        created_by="admin",
                    )
                )
        upgrade(engine)
        with engine.connect() as c:
            configs = dict(c.execute(select(table.c.name, table.c.config)).all())
        assert configs["spark_lake"]["catalog_name"] == "spark_lake"
        assert "catalog_name" not in configs["store"]
        downgrade(engine, "0004")
        with engine.connect() as c:
            configs = dict(c.execute(select(table.c.name, table.c.config)).all())
        assert "catalog_name" not in configs["spark_lake"]
    finally:
        downgrade(engine, "base")
        engine.dispose()
