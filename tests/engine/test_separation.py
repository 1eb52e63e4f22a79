"""The separation check finds each of the five kinds of violation the README names
("Workspaces, storage and the catalog"), on SQLite and PostgreSQL: tables outside their
workspace's prefix, namespaces of no workspace, namespaces marked for another workspace,
jobs whose SQL reads or writes another workspace's namespaces, and connections owned by one
workspace but used by another."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import update

from engine.models import Connection, Workspace


def _violations(services, admin, workspace: str | None = None) -> set[tuple[str, str | None, str]]:
    return {(v.kind, v.workspace, v.subject) for v in services.separation.check(admin, workspace)}


def test_separation_check_reports_each_kind(services, admin):
    for name in ("sales", "hr"):
        services.workspaces.create(admin, name)
        services.provisioning.apply(admin, name)
    # Clean workspaces, a clean platform: nothing to report.
    assert _violations(services, admin) == set()

    catalog = services.lakehouse.embedded_catalog()
    catalog.create_namespace(("scratch",), {})
    catalog.create_table(
        "sales_silver.stray", pa.schema([("x", pa.int64())]), location="file:///tmp/elsewhere/s"
    )
    catalog.pyiceberg_catalog().update_namespace_properties(
        ("sales_gold",), updates={"sadeem.workspace": "hr"}
    )
    # Job save refuses this now; saved before that rule (or by a hand edit), the check reports it.
    save_check, services.jobs.sql = services.jobs.sql, None
    services.jobs.create(admin, "sales", "peek", "sql", {"sql": "SELECT * FROM hr_gold.salaries"})
    services.jobs.sql = save_check
    services.jobs.create(
        admin, "hr", "own", "sql", {"sql": "INSERT INTO hr_gold.t SELECT * FROM hr_silver.t"}
    )
    # A connection sales uses (a job's, and its default SQL), later owned by hr: services
    # refuse to set this up, so the state is made in the database, as an old version or a
    # hand edit would leave it.
    services.connections.create(admin, "duck", "duckdb", {})
    services.jobs.create(
        admin, "sales", "local", "sql", {"sql": "SELECT 1 AS x"}, connection="duck"
    )
    services.workspaces.update(admin, "sales", sql_connection="duck")
    with services.db.session() as s:
        hr_id = s.query(Workspace.id).filter(Workspace.name == "hr").scalar()
        s.execute(update(Connection).where(Connection.name == "duck").values(workspace_id=hr_id))

    assert _violations(services, admin) == {
        ("table_outside_prefix", "sales", "sales_silver.stray"),
        ("orphan_namespace", None, "scratch"),
        ("foreign_namespace", "sales", "sales_gold"),
        ("job_crosses", "sales", "job peek"),
        ("connection_shared", "sales", "job local"),
        ("connection_shared", "sales", "duck"),
    }
    # One workspace's check: its own findings, not the platform's orphans nor hr's.
    assert _violations(services, admin, "hr") == set()
    assert ("orphan_namespace", None, "scratch") not in _violations(services, admin, "sales")
    assert len(_violations(services, admin, "sales")) == 5
