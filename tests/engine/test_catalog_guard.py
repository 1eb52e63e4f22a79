"""The embedded catalog is protected like the metadata DB (issue 14, item 5): a deleted,
replaced, truncated or zeroed `<data_dir>/catalog.db` is reported by health and
`workspace check`, every write to it is refused with one line and exit 8 (README, CLI exit
codes), and it is never recreated empty; a running engine notices it too. Real SQLite
files, real pyiceberg, on the demo a fresh data dir builds."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.cli.main import main

CTAS = "CREATE TABLE demo_gold.fresh AS SELECT 1 AS a"
INSERT = "INSERT INTO demo_gold.top_meters SELECT * FROM demo_gold.top_meters LIMIT 1"
EXIT_CATALOG = 8  # README: "8 | the embedded catalog is missing, damaged or not this site's"


def run(capsys, data: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--data-dir", str(data)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> tuple[Path, Path]:
    """(where the demo lives, a pristine copy of it). The catalog holds absolute paths, so
    each test gets the demo back at the same place rather than a copy elsewhere."""
    data = tmp_path_factory.mktemp("site") / "data"
    assert main(["demo", "--data-dir", str(data), "--json"]) == 0
    pristine = data.parent / "pristine"
    shutil.copytree(data, pristine)
    return data, pristine


@pytest.fixture
def site(demo_site) -> Path:
    """The demo's data dir as `sadeem demo` left it: metadata DB, catalog (with its
    identity) and table files."""
    data, pristine = demo_site
    shutil.rmtree(data)
    shutil.copytree(pristine, data)
    for stray in data.parent.glob("catalog.db*"):
        stray.unlink()
    return data


@pytest.fixture(scope="module")
def other_site(tmp_path_factory) -> Path:
    """Another site's data dir, with a demo of the same name: its catalog has the same
    namespaces and tables, so only its identity tells it apart."""
    data = tmp_path_factory.mktemp("other")
    assert main(["demo", "--data-dir", str(data), "--json"]) == 0
    return data


def sqlite_exec(path: Path, statement: str) -> None:
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(statement)
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(capsys, data: Path, sql: str, *words: str) -> None:
    code, out, err = run(capsys, data, "sql", "-w", "demo", "-e", sql)
    assert code == EXIT_CATALOG, (code, out, err)
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    assert str(data / "catalog.db") in line
    for word in words:
        assert word in line, line


def test_a_fresh_site_records_its_catalog_identity(site):
    """`sadeem demo` on a fresh data dir created the catalog and recorded who it is."""
    (in_file,) = sqlite3.connect(site / "catalog.db").execute(
        "SELECT identity FROM sadeem_catalog_identity"
    )
    (recorded,) = sqlite3.connect(site / "sadeem.db").execute(
        "SELECT identity FROM catalog_identities WHERE name = 'embedded'"
    )
    assert in_file == recorded and len(in_file[0]) == 36


def test_a_deleted_catalog_is_reported_refused_and_not_recreated(site, capsys):
    catalog = site / "catalog.db"
    catalog.unlink()

    code, out, _ = run(capsys, site, "connection", "test", "--json")
    assert code == 6
    (row,) = [r for r in json.loads(out) if r["name"] == "embedded_catalog"]
    assert row["ok"] is False and row["error_kind"] == "catalog"
    assert "is missing" in row["detail"] and "restore it from a backup" in row["detail"]

    code, out, _ = run(capsys, site, "workspace", "check", "--json")
    assert code == 1
    assert [v["kind"] for v in json.loads(out)] == ["catalog_unavailable"]
    assert "is missing" in json.loads(out)[0]["detail"]

    assert_refused(capsys, site, CTAS, "is missing", "restore it from a backup", "adopt --empty")
    assert_refused(capsys, site, INSERT, "is missing")
    assert_refused(capsys, site, "SELECT count(*) FROM demo_gold.top_meters", "is missing")
    code, _, err = run(capsys, site, "workspace", "provision", "demo", "--apply")
    assert code == EXIT_CATALOG, err  # provisioning would fill a new catalog: refused too
    code, _, err = run(capsys, site, "catalog", "ls")
    assert code == EXIT_CATALOG, err
    assert not catalog.exists()  # nothing recreated it, not even empty


def test_a_job_run_on_a_deleted_catalog_fails_with_the_message(site, capsys):
    (site / "catalog.db").unlink()
    code, out, err = run(capsys, site, "job", "run", "-w", "demo", "gold_top_meters", "--wait")
    assert code != 0  # README: `--wait` exits 0 only on success
    assert "failed" in out and "catalog.db is missing" in out, (out, err)
    assert not (site / "catalog.db").exists()


def test_a_restored_backup_is_taken_back_as_it_is(site, capsys):
    backup = site.parent / "catalog.db.bak"
    shutil.copy2(site / "catalog.db", backup)
    (site / "catalog.db").unlink()
    assert_refused(capsys, site, CTAS, "is missing")
    shutil.copy2(backup, site / "catalog.db")
    code, _, err = run(capsys, site, "sql", "-w", "demo", "-e", CTAS)
    assert code == 0, err


def test_another_sites_catalog_is_refused_and_left_untouched(site, other_site, capsys):
    shutil.copy2(other_site / "catalog.db", site / "catalog.db")
    before = digest(site / "catalog.db")
    assert_refused(capsys, site, CTAS, "not this site's catalog", "sadeem catalog adopt")
    assert_refused(capsys, site, INSERT, "not this site's catalog")
    code, out, _ = run(capsys, site, "workspace", "check", "--json")
    assert code == 1 and [v["kind"] for v in json.loads(out)] == ["catalog_unavailable"]
    assert digest(site / "catalog.db") == before  # nothing written to the foreign file


def test_a_catalog_without_identity_is_refused_once_one_was_recorded(site, capsys):
    """A catalog.db that never had an identity (recreated by an older Sadeem, or by hand
    with pyiceberg) is not the one recorded."""
    sqlite_exec(site / "catalog.db", "DROP TABLE sadeem_catalog_identity")
    assert_refused(capsys, site, CTAS, "not this site's catalog", "no identity")


@pytest.mark.parametrize("damage", ["truncated", "zeroed"])
def test_a_truncated_or_zeroed_catalog_is_refused(site, capsys, damage):
    catalog = site / "catalog.db"
    if damage == "truncated":
        catalog.write_bytes(b"")
    else:
        catalog.write_bytes(b"\0" * catalog.stat().st_size)
    before = digest(catalog)
    assert_refused(capsys, site, CTAS, "restore it from a backup")
    code, out, _ = run(capsys, site, "connection", "test", "--json")
    (row,) = [r for r in json.loads(out) if r["name"] == "embedded_catalog"]
    assert code == 6 and row["ok"] is False and row["error_kind"] == "catalog"
    assert digest(catalog) == before


def test_adopt_empty_starts_over_and_keeps_the_old_file(site, other_site, capsys):
    shutil.copy2(other_site / "catalog.db", site / "catalog.db")
    foreign = digest(site / "catalog.db")
    code, out, err = run(capsys, site, "catalog", "adopt", "--empty", "--json")
    assert code == 0, err
    assert json.loads(out)["identity"]
    (aside,) = site.glob("catalog.db.replaced-*")
    assert digest(aside) == foreign  # moved aside, never deleted
    code, _, err = run(capsys, site, "workspace", "provision", "demo", "--apply")
    assert code == 0, err
    code, _, err = run(capsys, site, "sql", "-w", "demo", "-e", CTAS)
    assert code == 0, err
    code, out, _ = run(capsys, site, "audit", "list", "--action", "catalog.adopt", "--json")
    assert len(json.loads(out)) == 1


def test_adopt_takes_the_file_that_is_there(site, other_site, capsys):
    shutil.copy2(other_site / "catalog.db", site / "catalog.db")
    assert_refused(capsys, site, CTAS, "not this site's catalog")
    code, _, err = run(capsys, site, "catalog", "adopt")
    assert code == 0, err
    code, out, err = run(capsys, site, "catalog", "ls", "demo_gold", "--json")
    assert code == 0, err
    assert {"table": "demo_gold.top_meters"} in json.loads(out)
    # Adopted as it is: its tables' files are the other site's, and the check says so.
    code, out, _ = run(capsys, site, "workspace", "check", "--json")
    assert code == 1 and "table_outside_prefix" in {v["kind"] for v in json.loads(out)}


def test_adopt_refuses_a_missing_file_without_empty(site, capsys):
    (site / "catalog.db").unlink()
    code, _, err = run(capsys, site, "catalog", "adopt")
    assert code == 2 and "--empty" in err
    assert not (site / "catalog.db").exists()


def test_a_site_from_before_identities_adopts_its_catalog(site, capsys):
    """Upgrading: a metadata DB with no identity recorded takes the catalog.db it has."""
    sqlite_exec(site / "sadeem.db", "DELETE FROM catalog_identities")
    sqlite_exec(site / "catalog.db", "DROP TABLE sadeem_catalog_identity")
    code, _, err = run(capsys, site, "sql", "-w", "demo", "-e", CTAS)
    assert code == 0, err
    (recorded,) = sqlite3.connect(site / "sadeem.db").execute(
        "SELECT identity FROM catalog_identities"
    )
    (in_file,) = sqlite3.connect(site / "catalog.db").execute(
        "SELECT identity FROM sadeem_catalog_identity"
    )
    assert recorded == in_file


def test_a_site_from_before_identities_whose_catalog_is_gone_is_refused(site, capsys):
    """No identity recorded and no catalog.db, but the audit trail shows the demo's
    namespaces were provisioned in it: not a fresh site, so not recreated."""
    sqlite_exec(site / "sadeem.db", "DELETE FROM catalog_identities")
    (site / "catalog.db").unlink()
    assert_refused(capsys, site, CTAS, "is missing", "provisioned")
    assert not (site / "catalog.db").exists()


# -- a running engine -----------------------------------------------------------------------


@pytest.fixture
def running(services, admin):
    """An open engine whose workspace has a table, written through the embedded catalog."""
    services.workspaces.create(admin, "demo")
    services.provisioning.apply(admin, "demo")
    services.sql.execute(
        admin, "demo", "CREATE TABLE demo_gold.top_meters AS SELECT 1 AS a"
    ).fetch()
    return services


def refusal(services, admin, sql: str) -> Exception:
    from engine.errors import CatalogUnavailable

    with pytest.raises(CatalogUnavailable) as caught:
        services.sql.execute(admin, "demo", sql).fetch()
    assert caught.value.exit_code == EXIT_CATALOG
    return caught.value


def test_a_running_engine_notices_the_deletion(running, admin):
    catalog = running.settings.data_dir / "catalog.db"
    table = running.lakehouse.embedded_catalog().load("demo_gold.top_meters")  # held open
    catalog.unlink()

    health = {h.name: h for h in running.health.check_all(admin)}
    assert health["embedded_catalog"].ok is False
    assert "deleted while the engine was running" in health["embedded_catalog"].detail
    found = running.separation.check(admin)
    assert [v.kind for v in found] == ["catalog_unavailable"]

    for sql in (
        CTAS,
        "INSERT INTO demo_gold.top_meters SELECT 2",
        "DROP TABLE demo_gold.top_meters",
        "SELECT count(*) FROM demo_gold.top_meters",
    ):
        assert "catalog.db" in str(refusal(running, admin, sql))
    import pyarrow as pa

    # A table loaded before the deletion: its commit goes through pyiceberg's own engine,
    # whose pooled connection still holds the deleted file; the guard refuses it there.
    from engine.errors import CatalogUnavailable

    with pytest.raises(CatalogUnavailable, match="deleted while the engine was running"):
        table.append(pa.table({"a": pa.array([3], pa.int32())}))
    assert not catalog.exists()


def test_a_running_engine_refuses_a_file_put_in_its_place(running, admin):
    """Even the same catalog copied back: its connections hold the old file, so writes
    would go to what is no longer there; a restart checks the new file."""
    catalog = running.settings.data_dir / "catalog.db"
    copy = catalog.with_name("copy.db")
    shutil.copy2(catalog, copy)
    copy.replace(catalog)
    error = refusal(running, admin, CTAS)
    assert "replaced while the engine was running" in str(error)
    health = {h.name: h for h in running.health.check_all(admin)}
    assert health["embedded_catalog"].ok is False
    assert "replaced" in health["embedded_catalog"].detail


def test_a_workspace_on_its_own_catalog_connection_is_not_interfered_with(
    services, admin, tmp_path
):
    """Only the embedded catalog is guarded: a workspace whose catalog is a connection
    keeps working, and its check runs, while catalog.db is gone."""
    services.connections.create(
        admin,
        "own_catalog",
        "iceberg_sql",
        {"uri": f"sqlite:///{tmp_path / 'own.db'}", "warehouse": str(tmp_path / "wh")},
    )
    services.workspaces.create(admin, "lab", catalog_connection="own_catalog")
    services.provisioning.apply(admin, "lab")
    services.workspaces.create(admin, "demo")
    services.provisioning.apply(admin, "demo")
    (services.settings.data_dir / "catalog.db").unlink()
    services.sql.execute(admin, "lab", "CREATE TABLE lab_bronze.t AS SELECT 1 AS a").fetch()
    assert services.separation.check(admin, "lab") == []
    assert [v.kind for v in services.separation.check(admin)] == ["catalog_unavailable"]
