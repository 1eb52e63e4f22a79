"""The embedded SQL engine is a sandbox for one workspace, and SQL fails closed.

Every role (viewer, runner, editor, owner, outsider, platform admin) tries the attacks of
issue 13 against the embedded DuckDB of workspace `team`: reading /etc/passwd, the key
file, the metadata DB, /proc/self/environ and another workspace's files (by path, glob,
`..` and symlink); writing files (COPY, EXPORT, ATTACH, profiling output); changing
settings; loading extensions; SQL the Trino dialect cannot parse that touches another
workspace. Each is refused with a message naming the rule, nothing is written, the shared
engine's settings do not change, and the workspace's own SQL (CTAS, INSERT, views, its own
raw files) still works afterwards. The same SQL as jobs: refused at save, reported by the
separation check, and refused by the runner.

Expectations come from the README ("Security model", SQL) and the issue, not from the
rule tables in engine/sql_analysis.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from engine.errors import PermissionDenied, QueryError, SadeemError, ValidationError
from engine.models import AuditEvent
from tests.engine.runner.conftest import engines  # noqa: F401 - the runner's fixture

ROLES = ("viewer", "runner", "editor", "owner", "outsider", "admin")
MEMBERS = ("viewer", "runner", "editor", "owner")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # The attacks run on SQLite only (the role rules themselves are proven on both
    # databases by the role matrix); the sandbox is DuckDB's and the footprint's.
    return f"sqlite:///{tmp_path / 'meta.db'}"


class Box:
    """Workspace `team` (one member per role), `beta` and `team2` next to it, with files."""

    def __init__(self, services, actors, tmp_path: Path) -> None:
        self.s, self.actors, self.tmp = services, actors, tmp_path
        admin = actors["admin"]
        for ws in ("beta", "team2"):
            services.workspaces.create(admin, ws)
        for ws in ("team", "beta", "team2"):
            services.provisioning.apply(admin, ws)
        data = services.deps.settings.data_dir
        self.data = data
        self.storage = data / "storage" / "sadeem" / "workspaces"
        self.team_raw = self.storage / "team" / "raw"
        self.beta_raw = self.storage / "beta" / "raw"
        self.team2_raw = self.storage / "team2" / "raw"
        for d in (self.team_raw, self.beta_raw, self.team2_raw):
            d.mkdir(parents=True, exist_ok=True)
        (self.team_raw / "own.csv").write_text("id,name\n1,ours\n2,also\n")
        (self.beta_raw / "secret.csv").write_text("id,name\n1,beta-secret\n")
        (self.team2_raw / "secret.csv").write_text("id,name\n1,team2-secret\n")
        # A directory whose name starts like team's prefix but belongs to no workspace.
        self.sibling = self.storage / "team_old"
        self.sibling.mkdir()
        (self.sibling / "secret.csv").write_text("id,name\n1,old-secret\n")
        os.symlink(self.beta_raw / "secret.csv", self.team_raw / "link.csv")
        os.symlink(self.beta_raw, self.team_raw / "beta_dir")
        self.key = data / "secret.key"
        if not self.key.exists():  # the engine makes it on first use; the attack needs it
            self.key.write_text("not-the-real-key")
        self.metadb = services.deps.settings.database_url.removeprefix("sqlite:///")
        self.home_target = tmp_path / "home" / ".ssh" / "authorized_keys"
        self.home_target.parent.mkdir(parents=True)
        services.sql.execute(
            admin, "beta", "CREATE TABLE beta_gold.payroll AS SELECT 100 AS salary"
        ).fetch()
        services.sql.execute(
            admin, "team", "CREATE TABLE team_gold.t AS SELECT range AS x FROM range(3)"
        ).fetch()

    def fill(self, sql: str) -> str:
        return sql.format(
            data=self.data,
            key=self.key,
            metadb=self.metadb,
            team_raw=self.team_raw,
            beta_raw=self.beta_raw,
            team2_raw=self.team2_raw,
            storage=self.storage,
            sibling=self.sibling,
            home_target=self.home_target,
        )

    def run(self, role: str, sql: str):
        return self.s.sql.execute(self.actors[role], "team", self.fill(sql)).fetch()

    def files(self) -> set[str]:
        """Every file under the data dir and the test's home (what a write would add)."""
        out = set()
        for root in (self.data, self.tmp / "home"):
            for dirpath, _dirs, names in os.walk(root):
                out |= {os.path.join(dirpath, n) for n in names}
        return {f for f in out if not f.endswith(("-journal", "-wal", "-shm"))}

    def settings(self) -> list:
        """The settings of team's shared DuckDB, read past Sadeem's check (which refuses
        current_setting() to every member)."""
        admin = self.actors["admin"]
        _, backend = self.s.lakehouse.sql(admin, self.s.workspaces.get(admin, "team"))
        return (
            backend._connection.cursor()
            .execute(
                "SELECT current_setting('memory_limit'), current_setting('threads'), "
                "current_setting('enable_external_access'), current_setting('lock_configuration')"
            )
            .fetchall()
        )


@pytest.fixture
def box(services, actors, tmp_path):
    return Box(services, actors, tmp_path)


# (name, SQL with {placeholders}, the rule that must refuse it). Written from the issue.
ATTACKS = [
    ("passwd", "SELECT * FROM read_csv('/etc/passwd', sep=':')", "file"),
    ("key file", "SELECT * FROM read_text('{key}')", "file"),
    ("metadata db", "SELECT * FROM read_blob('{metadb}')", "file"),
    ("catalog db", "SELECT * FROM read_blob('{data}/catalog.db')", "file"),
    ("environ", "SELECT * FROM read_text('/proc/self/environ')", "file"),
    ("environ named", "SELECT * FROM read_text(path := '/proc/self/environ')", "file"),
    ("file uri", "SELECT * FROM read_csv('file:///etc/passwd')", "file"),
    ("relative", "SELECT * FROM read_csv('secret.key')", "file"),
    ("home", "SELECT * FROM read_text('~/.bash_history')", "file"),
    ("replacement scan", "SELECT * FROM '{beta_raw}/secret.csv'", "file"),
    ("other ws by path", "SELECT * FROM read_csv('{beta_raw}/secret.csv')", "file"),
    ("other ws glob", "SELECT * FROM glob('{storage}/*/raw/*')", "file"),
    ("other ws parquet", "SELECT * FROM read_parquet('{storage}/beta/**/*.parquet')", "file"),
    ("dotdot", "SELECT * FROM read_csv('{team_raw}/../../beta/raw/secret.csv')", "file"),
    ("symlink file", "SELECT * FROM read_csv('{team_raw}/link.csv')", "file"),
    ("symlink dir", "SELECT * FROM read_csv('{team_raw}/beta_dir/secret.csv')", "file"),
    ("glob through symlink", "SELECT * FROM read_csv('{team_raw}/**/*.csv')", "sandbox"),
    ("prefix sibling", "SELECT * FROM read_csv('{team2_raw}/secret.csv')", "file"),
    ("prefix-like dir", "SELECT * FROM read_csv('{sibling}/secret.csv')", "file"),
    ("path expression", "SELECT * FROM read_csv(lower('{beta_raw}/secret.csv'))", "file"),
    ("rejects table", "SELECT * FROM read_csv('{team_raw}/own.csv', store_rejects=true)", "file"),
    ("query()", "SELECT * FROM query('SELECT * FROM beta_gold.payroll')", "table-function"),
    ("settings fn", "SELECT * FROM duckdb_settings()", "table-function"),
    # DuckDB's own views and functions that show the engine: its spill directory, database
    # paths, settings and what other callers ran.
    ("settings view", "SELECT * FROM pg_settings", "table-function"),
    ("settings view qualified", "SELECT * FROM pg_catalog.pg_settings", "table-function"),
    ("setting function", "SELECT current_setting('temp_directory') AS t", "table-function"),
    ("setting in a where", "SELECT 1 WHERE current_setting('threads') > 0", "table-function"),
    ("databases view", "SELECT path FROM duckdb_databases", "table-function"),
    ("databases via system", "SELECT * FROM system.main.duckdb_databases", "table-function"),
    ("database list view", "FROM pragma_database_list", "table-function"),
    ("engine log view", "SELECT * FROM duckdb_logs", "table-function"),
    ("prepared statements", "SELECT * FROM pg_catalog.pg_prepared_statements", "table-function"),
    ("copy out", "COPY (SELECT 'ssh-rsa AAAA mallory') TO '{home_target}'", "statement"),
    ("copy in prefix", "COPY (SELECT 1) TO '{team_raw}/out.csv'", "statement"),
    ("copy from", "COPY team_gold.t FROM '{beta_raw}/secret.csv'", "statement"),
    ("export", "EXPORT DATABASE '{team_raw}/export'", "statement"),
    ("import", "IMPORT DATABASE '{team_raw}'", "statement"),
    ("attach", "ATTACH '{team_raw}/new.db' AS n", "statement"),
    ("profiling", "PRAGMA profiling_output='{team_raw}/profile.txt'", "statement"),
    ("pragma memory", "PRAGMA memory_limit='1MB'", "statement"),
    ("set memory", "SET memory_limit='1MB'", "statement"),
    ("set external", "SET enable_external_access=false", "statement"),
    ("reset", "RESET threads", "statement"),
    ("use", "USE beta_gold", "statement"),
    ("install", "INSTALL httpfs", "statement"),
    ("load", "LOAD httpfs", "statement"),
    ("call", "CALL pragma_version()", "statement"),
    ("checkpoint", "CHECKPOINT", "statement"),
    ("secret", "CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", "statement"),
    ("macro", "CREATE MACRO m(a) AS a", "statement"),
    ("temp table", "CREATE TEMP TABLE t AS SELECT 1", "statement"),
    ("second statement", "SELECT 1; COPY (SELECT 1) TO '{home_target}'", "statement"),
    # SQL the Trino dialect cannot parse, touching another workspace.
    ("int division", "SELECT salary // 1 FROM beta_gold.payroll", "separation"),
    ("qualify", "SELECT * FROM beta_gold.payroll QUALIFY salary > 0", "separation"),
    ("summarize", "SUMMARIZE beta_gold.payroll", "separation"),
    ("upper case", "SELECT * FROM BETA_GOLD.payroll", "separation"),
    ("show", "SHOW TABLES FROM beta_gold", "separation"),
    ("ctas into other", "CREATE TABLE beta_gold.stolen AS SELECT 1 // 1 AS x", "separation"),
    ("insert into other", "INSERT INTO beta_gold.payroll SELECT 2 // 1", "separation"),
    ("drop other", "DROP TABLE beta_gold.payroll", "separation"),
    ("orphan namespace", "CREATE TABLE scratch.t AS SELECT 1 AS x", "separation"),
    # A written table's name becomes a directory of the workspace's storage.
    (
        "table name climbs out",
        'CREATE TABLE team_gold."../../beta/raw/planted" AS SELECT 1 AS x',
        "file",
    ),
    ("table name is a path", 'CREATE TABLE team_gold."/tmp/planted" AS SELECT 1 AS x', "file"),
    ("show other table", "SHOW beta_gold.payroll", "separation"),
]


def _refused(box: Box, role: str, sql: str, rule: str) -> str:
    with pytest.raises(PermissionDenied) as info:
        box.run(role, sql)
    message = str(info.value)
    if role == "outsider":
        assert "sql.read" in message  # not a member: refused before the SQL is read
    elif rule == "sandbox":
        assert "sandbox" in message or "file rule" in message, message
    else:
        assert f"refused by the {rule} rule" in message, message
    return message


@pytest.mark.parametrize("name,sql,rule", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_every_role_is_refused_and_nothing_changes(box, name, sql, rule):
    files, settings = box.files(), box.settings()
    for role in ROLES:
        message = _refused(box, role, sql, rule)
        assert not any(f"{w}-secret" in message for w in ("beta", "team2", "old"))
    assert box.files() == files, "a refused statement wrote a file"
    assert box.settings() == settings, "a refused statement changed the engine's settings"
    assert not box.home_target.exists()
    # beta's table is whole, nothing was created next to it.
    admin = box.actors["admin"]
    rows = box.s.sql.execute(admin, "beta", "SELECT salary FROM beta_gold.payroll").fetch()
    assert rows.column("salary").to_pylist() == [100]
    assert box.s.catalog.tables(admin, "beta_gold") == ["payroll"]
    _own_sql_still_works(box)


def _own_sql_still_works(box: Box) -> None:
    raw = box.fill("{team_raw}/own.csv")
    rows = box.run("viewer", f"SELECT name FROM read_csv('{raw}') ORDER BY id")
    assert rows.column("name").to_pylist() == ["ours", "also"]
    assert box.run("viewer", "SELECT count(*) AS n FROM team_gold.t")["n"][0].as_py() == 3


def test_the_workspace_own_sql_keeps_working(box):
    """CTAS from its own raw files, INSERT, views and DROP, for runners and up; reads,
    EXPLAIN, DESCRIBE, SHOW, SUMMARIZE, VALUES and globs of its own prefix for viewers."""
    raw = box.fill("{team_raw}")
    for role in ("runner", "editor", "owner", "admin"):
        table = f"team_silver.people_{role}"
        box.run(role, f"CREATE TABLE {table} AS SELECT * FROM read_csv('{raw}/own.csv')")
        box.run(role, f"INSERT INTO {table} SELECT 3, 'more'")
        box.run(role, f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} WHERE id < 3")
        box.run(role, f"CREATE VIEW team_gold.v_{role} AS SELECT count(*) AS n FROM {table}")
        assert box.run("viewer", f"SELECT n FROM team_gold.v_{role}")["n"][0].as_py() == 2
        box.run(role, f"DROP VIEW team_gold.v_{role}")
        box.run(role, f"DROP TABLE {table}")
    for sql in (
        "SELECT * FROM team_gold.t",
        "WITH a AS (SELECT x FROM team_gold.t) SELECT sum(x) AS s FROM a",
        "VALUES (1), (2)",
        "EXPLAIN SELECT * FROM team_gold.t",
        "DESCRIBE team_gold.t",
        "SUMMARIZE team_gold.t",
        f"SELECT count(*) AS n FROM glob('{raw}/*.csv')",
        f"SELECT * FROM read_csv(['{raw}/own.csv', '{raw}/' || 'own.csv'])",
        "SELECT * FROM range(3)",
        # The views of its own tables stay open to every member.
        "SELECT table_name FROM information_schema.tables",
        "SELECT table_name FROM information_schema.columns",
        "SELECT view_name FROM duckdb_views() WHERE NOT internal",
        "SELECT column_name FROM duckdb_columns",
    ):
        assert box.run("viewer", sql).num_rows >= 1, sql
    box.run("viewer", "SHOW TABLES")  # the workspace's own engine: not refused
    with pytest.raises(PermissionDenied, match=r"sql\.write"):
        box.run("viewer", "CREATE TABLE team_gold.v AS SELECT 1 AS x")
    with pytest.raises(PermissionDenied, match="statement rule"):
        box.run("viewer", "EXPLAIN ANALYZE CREATE TABLE team_gold.v AS SELECT 1 AS x")


def test_writes_are_audited_with_their_footprint(box):
    box.run("runner", "CREATE TABLE team_gold.audited AS SELECT 1 AS x")
    with box.s.db.session() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "sql.write").order_by(AuditEvent.id)
        ).all()[-1]
    assert event.details["writes"] == ["team_gold.audited"]
    assert event.details["kinds"] == ["create_table_as"]


def test_sql_sadeem_cannot_parse_is_refused_but_for_admins(box):
    """DuckDB reads `salary!` (factorial); sqlglot cannot, so Sadeem cannot see what the
    statement touches: refused for every member. An admin's runs, inside team's sandbox,
    where beta's table does not exist."""
    sql = "SELECT salary! FROM beta_gold.payroll"
    for role in MEMBERS:
        with pytest.raises(PermissionDenied, match="refused by the parse rule"):
            box.run(role, sql)
    with pytest.raises(QueryError, match="payroll"):
        box.run("admin", sql)
    # A syntax error both parsers see is the engine's own error, with its position.
    with pytest.raises(QueryError) as info:
        box.run("viewer", "SELEC 1")
    assert info.value.line == 1


def test_the_engine_itself_refuses_what_the_footprint_misses(box):
    """Defence in depth: DuckDB's own sandbox (allowed_directories, external access off,
    locked configuration) holds for a caller that skips the services entirely."""
    from engine.backends.base import QueryContext

    ws = box.s.workspaces.get(box.actors["admin"], "team")
    _name, backend = box.s.lakehouse.sql(box.actors["admin"], ws)
    ctx = QueryContext(user="admin")
    for sql in (
        box.fill("SELECT * FROM read_text('{key}')"),
        "SET memory_limit='1MB'",
        box.fill("COPY (SELECT 1) TO '{home_target}'"),
    ):
        with pytest.raises(PermissionDenied):
            backend.execute(sql, ctx).fetch()
    # Below the footprint: DuckDB's raw connection is locked and confined.
    cursor = backend._connection.cursor()
    for sql in (
        box.fill("SELECT * FROM read_text('{key}')"),
        box.fill("SELECT * FROM read_csv('{team_raw}/link.csv')"),
        "SET enable_external_access=true",
        "SET lock_configuration=false",
        "SET allowed_directories=['/']",
    ):
        with pytest.raises(Exception) as info:
            cursor.execute(sql).fetchall()
        assert "Permission" in str(info.value) or "locked" in str(info.value), sql
    assert not box.home_target.exists()


def test_a_delete_file_outside_the_prefix_keeps_the_table_unserved(box):
    """A table's positional delete file is a file the engine reads for the reader too: one
    a catalog writer (Spark, Trino) placed in another workspace's prefix is refused like a
    data file there, and the rows are not read."""
    import pyarrow.parquet as pq
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record

    admin = box.actors["admin"]
    catalog = box.s.lakehouse.catalog(admin, box.s.workspaces.get(admin, "team"))
    table = catalog.load("team_gold.t")
    data_file = next(iter(table.scan().plan_files())).file.file_path
    deletes = box.beta_raw / "deletes.parquet"
    pq.write_table(pa.table({"file_path": [data_file], "pos": pa.array([0], pa.int64())}), deletes)
    delete_file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=deletes.as_uri(),
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=1,
        file_size_in_bytes=deletes.stat().st_size,
    )
    delete_file.spec_id = 0
    with table.transaction() as tx, tx.update_snapshot().fast_append() as append:
        append.append_data_file(delete_file)
    assert len(catalog.load("team_gold.t").scan().to_arrow()) == 2  # pyiceberg applies it
    for role in ("viewer", "admin"):
        with pytest.raises(PermissionDenied, match=r"file rule.*outside"):
            box.run(role, "SELECT count(*) AS n FROM team_gold.t")


# -- the same SQL as jobs ------------------------------------------------------------------

JOB_ATTACKS = [a for a in ATTACKS if a[0] not in ("second statement", "glob through symlink")]


def test_job_save_refuses_what_the_runner_would(box):
    editor = box.actors["editor"]
    for name, sql, rule in JOB_ATTACKS:
        with pytest.raises(ValidationError) as info:
            box.s.jobs.create(editor, "team", "bad", "sql", {"sql": box.fill(sql)})
        assert f"refused by the {rule} rule" in str(info.value), name
    box.s.jobs.create(editor, "team", "good", "sql", {"sql": "SELECT 1"})
    with pytest.raises(ValidationError, match="refused by the statement rule"):
        box.s.jobs.edit(editor, "team", "good", definition={"sql": "SET threads=1"})
    with pytest.raises(ValidationError, match="refused by the separation rule"):
        box.s.jobs.create(
            editor, "team", "target", "sql", {"sql": "SELECT 1", "target_table": "beta_gold.x"}
        )


def test_the_runner_refuses_and_the_check_reports_saved_bad_sql(box, engines):  # noqa: F811
    """SQL saved before these rules (the save check switched off here) is reported by
    `workspace check` and refused by the runner before anything runs."""
    from tests.engine.runner.conftest import wait_for

    editor, admin = box.actors["editor"], box.actors["admin"]
    box.s.jobs.sql = None  # as if saved before the rule existed
    chosen = [a for a in JOB_ATTACKS if a[2] != "table-function" or a[0] == "query()"]
    for i, (_name, sql, _rule) in enumerate(chosen):
        box.s.jobs.create(editor, "team", f"bad{i}", "sql", {"sql": box.fill(sql)})
    box.s.jobs.create(
        editor, "team", "unparsed", "sql", {"sql": "SELECT salary! FROM beta_gold.payroll"}
    )
    reported = {v.subject: v for v in box.s.separation.check(admin, "team")}
    files, settings = box.files(), box.settings()
    runs = [box.s.runs.trigger(box.actors["runner"], "team", f"bad{i}") for i in range(len(chosen))]
    runs.append(box.s.runs.trigger(box.actors["runner"], "team", "unparsed"))
    engines()
    for run, (name, _sql, rule) in zip(runs, [*chosen, ("unparsed", "", "parse")], strict=True):
        done = wait_for(box.s, admin, run.id)
        assert done.state == "failed", name
        assert f"refused by the {rule} rule" in (done.error or ""), (name, done.error)
        job = f"job {run.job}"
        assert job in reported and f"refused by the {rule} rule" in reported[job].detail
    assert box.files() == files and box.settings() == settings
    assert not box.home_target.exists()
    rows = box.s.sql.execute(admin, "beta", "SELECT salary FROM beta_gold.payroll").fetch()
    assert rows.column("salary").to_pylist() == [100]
    _own_sql_still_works(box)


def test_a_good_job_still_runs_from_its_own_raw_files(box, engines):  # noqa: F811
    from tests.engine.runner.conftest import wait_for

    raw = box.fill("{team_raw}/own.csv")
    box.s.jobs.create(
        box.actors["editor"],
        "team",
        "load",
        "sql",
        {"sql": f"CREATE OR REPLACE TABLE team_bronze.people AS SELECT * FROM read_csv('{raw}')"},
    )
    run = box.s.runs.trigger(box.actors["runner"], "team", "load")
    engines()
    assert wait_for(box.s, box.actors["admin"], run.id).state == "succeeded"
    assert box.run("viewer", "SELECT count(*) AS n FROM team_bronze.people")["n"][0].as_py() == 2


def test_errors_are_sadeem_errors_with_exit_codes(box):
    """A refusal is a PermissionDenied (exit 4) for the CLI, one line, no traceback."""
    with pytest.raises(SadeemError) as info:
        box.run("runner", "COPY (SELECT 1) TO '/tmp/x'")
    assert info.value.exit_code == 4 and "\n" not in str(info.value)


def test_on_trino_the_trino_dialect_decides(box):
    """The same rules, parsed as Trino will run the SQL: DuckDB syntax Trino cannot parse is
    refused for members, and only what passes reaches the server."""
    from tests.fakes.trino_server import FakeTrino

    fake = FakeTrino().start()
    try:
        admin = box.actors["admin"]
        box.s.connections.create(admin, "trino", "trino", {"host": "127.0.0.1", "port": fake.port})

        def run(role: str, sql: str):
            actor = box.actors[role]
            return box.s.sql.execute(actor, "team", sql, connection="trino").fetch()

        for sql in (
            "SELECT salary // 1 FROM beta_gold.payroll",
            "SUMMARIZE team_gold.t",
            "SELECT * FROM team_gold.t QUALIFY x > 0",
        ):
            for role in MEMBERS:
                with pytest.raises(PermissionDenied, match=r"parse rule.*trino dialect"):
                    run(role, sql)
        with pytest.raises(PermissionDenied, match="separation rule"):
            run("runner", "SELECT * FROM iceberg.BETA_GOLD.payroll")
        with pytest.raises(PermissionDenied, match="table-function rule"):
            run("runner", "SELECT * FROM TABLE(system.query(query => 'SELECT 1'))")
        with pytest.raises(PermissionDenied, match="statement rule"):
            run("owner", "SET SESSION query_max_run_time = '1h'")
        assert run("viewer", "SELECT 1").num_rows == 1
        assert len(fake.queries) == 1  # nothing refused reached the server
    finally:
        fake.stop()
