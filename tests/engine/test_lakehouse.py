"""Provisioning, the separation check, the catalog explorer and SQL in a workspace, on the
embedded default (local store, Iceberg SQL catalog in the data dir, DuckDB), on SQLite and
PostgreSQL metadata databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, PermissionDenied, QueryError, SadeemError
from engine.models import AuditEvent, QueryHistory
from engine.services.provisioning import WORKSPACE_PROPERTY


def audit_actions(services) -> list[str]:
    with services.db.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def lake(services, admin):
    services.workspaces.create(admin, "sales")
    services.provisioning.apply(admin, "sales")
    return services


def test_plan_then_apply_is_idempotent(services, admin):
    services.workspaces.create(admin, "sales")
    plan = services.provisioning.plan(admin, "sales")
    assert [(s.kind, s.state) for s in plan.steps] == [
        ("bucket", "missing"),
        ("marker", "missing"),
        ("namespace", "missing"),
        ("namespace", "missing"),
        ("namespace", "missing"),
    ]
    assert [s.target for s in plan.steps if s.kind == "namespace"] == [
        "sales_bronze",
        "sales_silver",
        "sales_gold",
    ]
    before = len(audit_actions(services))
    applied = services.provisioning.apply(admin, "sales")
    assert applied.complete
    assert audit_actions(services)[before:] == ["workspace.provision"] * 5
    again = services.provisioning.plan(admin, "sales")
    assert {s.state for s in again.steps} == {"exists"}
    services.provisioning.apply(admin, "sales")
    assert len(audit_actions(services)) == before + 5  # nothing left to do, nothing recorded
    catalog = services.lakehouse.embedded_catalog()
    props = catalog.namespace_properties(("sales_gold",))
    assert props[WORKSPACE_PROPERTY] == "sales"
    assert props["location"].endswith("/sadeem/workspaces/sales/gold")


def test_failure_half_way_is_completed_by_the_next_apply(services, admin, monkeypatch):
    services.workspaces.create(admin, "ops")
    catalog = services.lakehouse.embedded_catalog()
    real_create = catalog.create_namespace
    calls = {"n": 0}

    def flaky(namespace, properties):  # the second namespace fails, like a network blip
        calls["n"] += 1
        if calls["n"] == 2:
            raise SadeemError("catalog went away")
        return real_create(namespace, properties)

    monkeypatch.setattr(catalog, "create_namespace", flaky)
    with pytest.raises(SadeemError, match="stopped at namespace ops_silver"):
        services.provisioning.apply(admin, "ops")
    states = {s.target: s.state for s in services.provisioning.plan(admin, "ops").steps}
    assert states["ops_bronze"] == "exists" and states["ops_silver"] == "missing"
    monkeypatch.setattr(catalog, "create_namespace", real_create)
    assert services.provisioning.apply(admin, "ops").complete


def test_a_prefix_claimed_by_another_workspace_is_a_conflict(services, admin):
    services.workspaces.create(admin, "one", prefix="shared/area")
    services.provisioning.apply(admin, "one")
    services.workspaces.create(admin, "two", prefix="shared/area")
    plan = services.provisioning.plan(admin, "two")
    assert plan.conflicts and "claimed by 'one'" in plan.conflicts[0].detail
    with pytest.raises(Conflict):
        services.provisioning.apply(admin, "two")


def test_sql_ctas_catalog_and_history(lake, admin):
    sql = lake.sql
    q = sql.execute(
        admin,
        "sales",
        "CREATE TABLE sales_bronze.orders AS "
        "SELECT range AS id, range % 7 AS shop FROM range(1000)",
    )
    q.fetch()
    q = sql.execute(
        admin,
        "sales",
        "SELECT shop, count(*) AS n FROM sales_bronze.orders GROUP BY shop ORDER BY shop",
    )
    table = q.fetch()
    assert table.column("n").to_pylist() == [143, 143, 143, 143, 143, 143, 142]
    assert lake.catalog.namespaces(admin, "sales") == ["sales_bronze", "sales_silver", "sales_gold"]
    assert lake.catalog.tables(admin, "sales_bronze") == ["orders"]
    info = lake.catalog.table(admin, "sales_bronze.orders")
    assert [c.name for c in info.columns] == ["id", "shop"]
    assert info.total_records == 1000
    assert lake.catalog.sample(admin, "sales_bronze.orders", 5).num_rows == 5
    history = sql.history(admin, workspace="sales")
    assert [h.state for h in history] == ["succeeded", "succeeded"]
    assert history[0].rows == 7
    assert sql.history(admin, search="GROUP BY")[0].sql.startswith("SELECT shop")
    assert "sql.write" in audit_actions(lake)


def test_one_duckdb_per_workspace_stays_true_to_the_catalog(lake, admin):
    """The shared DuckDB of a workspace: reused, never shared with another workspace, and
    never serving a table as it was before another writer changed or dropped it."""
    import pyarrow as pa
    from pyiceberg.types import StringType

    lake.workspaces.create(admin, "hr")
    lake.provisioning.apply(admin, "hr")
    sales, hr = (lake.workspaces.get(admin, w) for w in ("sales", "hr"))
    assert lake.lakehouse.sql(admin, sales)[1] is lake.lakehouse.sql(admin, sales)[1]
    assert lake.lakehouse.sql(admin, sales)[1] is not lake.lakehouse.sql(admin, hr)[1]

    def count() -> int:
        q = lake.sql.execute(admin, "sales", "SELECT count(*) AS n FROM sales_bronze.t")
        return q.fetch().column("n")[0].as_py()

    lake.sql.execute(admin, "sales", "CREATE TABLE sales_bronze.t AS SELECT 1 AS x").fetch()
    assert count() == 1
    # Another writer (a Spark job, another engine) appends: the next query sees it.
    table = lake.lakehouse.embedded_catalog().pyiceberg_catalog().load_table("sales_bronze.t")
    table.append(pa.table({"x": pa.array([2, 3], pa.int32())}))
    assert count() == 3
    # An evolved schema is read through Arrow on the query's own cursor, query after query.
    with table.update_schema() as update:
        update.add_column("y", StringType())
    assert count() == 3 and count() == 3
    # Dropped elsewhere: an error, not the rows it had.
    lake.lakehouse.embedded_catalog().pyiceberg_catalog().drop_table("sales_bronze.t")
    with pytest.raises(QueryError, match="t"):
        count()


def test_sql_errors_and_separation(lake, admin, make_member):
    lake.workspaces.create(admin, "hr")
    lake.provisioning.apply(admin, "hr")
    with pytest.raises(QueryError):
        lake.sql.execute(admin, "sales", "SELEC oops FROM nowhere").fetch()
    with pytest.raises(QueryError, match="does_not_exist"):
        lake.sql.execute(admin, "sales", "SELECT * FROM sales_bronze.does_not_exist").fetch()
    viewer = make_member("sales", "viewer")
    runner = make_member("sales", "runner")
    assert lake.sql.execute(viewer, "sales", "SELECT 42 AS x").fetch().num_rows == 1
    with pytest.raises(PermissionDenied, match=r"sql\.write"):
        lake.sql.execute(viewer, "sales", "CREATE TABLE sales_gold.t AS SELECT 1 AS x")
    with pytest.raises(PermissionDenied, match="belongs to workspace 'hr'"):
        lake.sql.execute(runner, "sales", "SELECT * FROM hr_gold.salaries")
    lake.sql.flush_history()  # history rows are written off the statement's path
    with lake.db.session() as s:
        failed = s.scalar(
            select(func.count()).select_from(QueryHistory).where(QueryHistory.state == "failed")
        )
    assert failed == 2


def test_separation_check_finds_every_kind(lake, admin):
    assert lake.separation.check(admin, "sales") == []
    catalog = lake.lakehouse.embedded_catalog()
    catalog.create_namespace(("scratch",), {})
    import pyarrow as pa

    catalog.create_table(
        "sales_silver.stray", pa.schema([("x", pa.int64())]), location="file:///tmp/elsewhere/stray"
    )
    found = {(v.kind, v.subject) for v in lake.separation.check(admin)}
    assert ("orphan_namespace", "scratch") in found
    assert ("table_outside_prefix", "sales_silver.stray") in found
    viewer_view = {(v.kind, v.subject) for v in lake.separation.check(admin, "sales")}
    assert ("orphan_namespace", "scratch") not in viewer_view  # only in the global check


def test_connection_health_reports_kinds(services, admin):
    services.connections.create(admin, "nowhere", "s3", {"endpoint": "http://127.0.0.1:9"})
    services.connections.create(
        admin, "pg", "postgres", {"host": "127.0.0.1", "database": "test", "user": "postgres"}
    )
    services.connections.create(
        admin,
        "pg_missing",
        "postgres",
        {"host": "127.0.0.1", "database": "no_such_db_x", "user": "postgres"},
    )
    bad = services.health.test(admin, "nowhere")
    assert not bad.ok and bad.error_kind == "refused"
    assert services.health.test(admin, "pg").version.startswith("PostgreSQL")
    missing = services.health.test(admin, "pg_missing")
    assert not missing.ok and missing.error_kind == "not_found"
    embedded = {h.name: h for h in services.health.embedded()}
    assert all(h.ok for h in embedded.values()), embedded


# The role matrix for the lakehouse actions (the core actions are in test_role_matrix.py).
def _lake_cases():
    from tests.engine.test_role_matrix import WS, Case

    def provisioned(svc, admin, uniq):
        svc.provisioning.apply(admin, WS)

    return [
        Case("workspace.provision", lambda s, a, _: s.provisioning.apply(a, WS)),
        Case("workspace.check", lambda s, a, _: s.separation.check(a, WS), provisioned),
        Case("workspace.check.all", lambda s, a, _: s.separation.check(a), provisioned),
        Case("catalog.read", lambda s, a, _: s.catalog.namespaces(a, WS), provisioned),
        Case(
            "sql.read", lambda s, a, _: s.sql.execute(a, WS, "SELECT 1 AS x").fetch(), provisioned
        ),
        Case(
            "sql.write",
            lambda s, a, u: s.sql.execute(
                a, WS, f"CREATE TABLE {WS}_gold.t{u} AS SELECT 1 AS x"
            ).fetch(),
            lambda svc, admin, uniq: (provisioned(svc, admin, uniq), uniq)[1],
        ),
        Case(
            "connection.test",
            lambda s, a, name: s.health.test(a, name),
            lambda svc, admin, uniq: (
                svc.connections.create(admin, f"t{uniq}", "duckdb", {}, workspace=WS),
                f"t{uniq}",
            )[1],
        ),
    ]


@pytest.mark.parametrize("case", _lake_cases(), ids=lambda c: c.action)
def test_lakehouse_role_matrix(services, admin, actors, case):
    from tests.engine.test_role_matrix import check_case

    problems = check_case(services, admin, actors, case)
    # provisioning audits each created part: only the first allowed call creates anything.
    if case.action == "workspace.provision":
        problems = [p for p in problems if "events" not in p]
    assert problems == []
