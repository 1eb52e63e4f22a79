"""Ordinary mistakes through the real CLI (`python3 -m engine.cli.main` in a subprocess):
each ends in ONE line on stderr with the exit code the README's "CLI" section documents
(2 invalid input, 3 not found, 4 permission denied, 5 conflict, 6 backend failure, 7 metadata
database unavailable), never exit 70 ("internal error"), and changes nothing: the row count
of every metadata table and the files of the data dir (warehouse included) are the same
before and after. The cases are issue 14's list, plus each flag's extremes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.postgres import PG_HOST, PG_PORT, PG_USER
from tests.support import free_port, port_open, service_missing

REPO = Path(__file__).resolve().parents[2]
BIG = str(2**70)  # past 64 bits: once an OverflowError (exit 70)


def sadeem(
    data_dir: Path,
    *argv: str,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    flag: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run the real CLI on `data_dir` (an own `--data-dir` in argv wins: it comes later),
    with this checkout first on the path."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XDG_CONFIG_HOME": str(data_dir.parent / "config"),
        "XDG_DATA_HOME": str(data_dir.parent / "xdg-data"),
        **(env or {}),
    }
    where = ["--data-dir", str(data_dir)] if flag else []
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *where, *argv],
        env=full_env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def state(data_dir: Path) -> tuple[dict[str, int], list[str]]:
    """(rows per metadata table, every file and directory under the data dir)."""
    counts: dict[str, int] = {}
    db = data_dir / "sadeem.db"
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            conn.close()
    # SQLite's own -wal/-shm files come and go with every open; they are not our data.
    files = sorted(
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if not p.name.endswith(("-wal", "-shm"))
    )
    return counts, files


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a provisioned workspace `w`, a job `j` and one table, built once."""
    data = tmp_path_factory.mktemp("template") / "data"
    for argv in (
        ("workspace", "create", "w"),
        ("workspace", "provision", "w", "--apply"),
        ("job", "create", "-w", "w", "j", "--type", "sql", "--sql", "SELECT 1"),
        ("sql", "-w", "w", "-e", "CREATE TABLE w_bronze.t AS SELECT 1 AS x"),
    ):
        done = sadeem(data, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    return data


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(template, copy)
    return copy


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: int
    message: str
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    # Builds what the case needs in the temp dir; returns extra env (e.g. a URL).
    setup: Callable[[Path], dict[str, str]] | None = None
    needs_postgres: bool = False
    # False: no --data-dir flag, so a data_dir in the config file is the one read.
    data_dir_flag: bool = True


def _file_db(content: bytes) -> Callable[[Path], dict[str, str]]:
    def make(tmp: Path) -> dict[str, str]:
        path = tmp / "other.db"
        path.write_bytes(content)
        return {"SADEEM_DATABASE_URL": f"sqlite:///{path}"}

    return make


def _refused_port(_tmp: Path) -> dict[str, str]:
    return {"SADEEM_DATABASE_URL": f"postgresql://{PG_USER}@127.0.0.1:{free_port()}/x"}


def _with_password(_tmp: Path) -> dict[str, str]:
    return {"SADEEM_DATABASE_URL": f"postgresql://u:hunter2secret@127.0.0.1:{free_port()}/x"}


def _config(text: str) -> Callable[[Path], dict[str, str]]:
    def make(tmp: Path) -> dict[str, str]:
        path = tmp / "config.toml"
        path.write_text(f"[sadeem]\n{text}\n")
        return {"SADEEM_CONFIG": str(path)}

    return make


def _bad_utf8_file(tmp: Path) -> dict[str, str]:
    (tmp / "bad.sql").write_bytes(b"SELECT '\xff\xfe'")
    return {}


JOB = ("job", "create", "-w", "w", "j2", "--type", "sql", "--sql", "SELECT 1")
SPARK = ("job", "create", "-w", "w", "sp", "--type", "spark", "--app-file", "a.py")
TRINO = ("connection", "create", "t", "--type", "trino", "--set", "host=h")
S3 = ("connection", "create", "s", "--type", "s3", "--set", "endpoint=http://127.0.0.1:9")

CASES: dict[str, Case] = {
    # numbers past 64 bits, and negative ones (once OverflowError: exit 70)
    "retries-past-64-bits": Case((*JOB, "--retries", BIG), 2, "--retries: must be between 0"),
    "retries-negative": Case((*JOB, "--retries", "-1"), 2, "--retries: must be between 0"),
    "timeout-past-64-bits": Case((*JOB, "--timeout", BIG), 2, "--timeout: must be between 1"),
    "timeout-zero": Case((*JOB, "--timeout", "0"), 2, "--timeout: must be between 1"),
    "backoff-past-64-bits": Case((*JOB, "--retry-backoff", BIG), 2, "--retry-backoff: must be"),
    "backoff-negative": Case((*JOB, "--retry-backoff", "-5"), 2, "--retry-backoff: must be"),
    "max-concurrent-zero": Case((*JOB, "--max-concurrent", "0"), 2, "--max-concurrent: must"),
    "executors-past-64-bits": Case(
        (*SPARK, "--executor-instances", BIG),
        2,
        "--executor-instances: must be between 1",
    ),
    "run-id-past-64-bits": Case(("run", "show", BIG), 2, "run_id: must be between 1"),
    "run-logs-past-64-bits": Case(("run", "logs", BIG), 2, "run_id: must be between 1"),
    "run-cancel-negative": Case(("run", "cancel", "--", "-3"), 2, "run_id: must be between 1"),
    "run-list-before-past-64-bits": Case(
        ("run", "list", "-w", "w", "--before", BIG), 2, "--before: must be between 1"
    ),
    "run-list-limit-zero": Case(("run", "list", "-w", "w", "--limit", "0"), 2, "--limit: must"),
    "audit-limit-past-64-bits": Case(("audit", "list", "--limit", BIG), 2, "--limit: must be"),
    "sql-max-rows-zero": Case(
        ("sql", "-w", "w", "-e", "SELECT 1", "--max-rows", "0"), 2, "--max-rows: must be"
    ),
    "catalog-sample-negative": Case(
        ("catalog", "show", "w_bronze.t", "--sample", "-1"), 2, "--sample: must be between 0"
    ),
    "run-id-not-a-number": Case(("run", "show", "forty"), 2, "expected a whole number"),
    "unknown-command": Case(("nosuch",), 2, "invalid choice: 'nosuch'"),
    # every bad SADEEM_DATABASE_URL
    "db-nothing-listening": Case(
        ("workspace", "list"),
        7,
        "metadata database unavailable",
        setup=_refused_port,
    ),
    "db-password-never-shown": Case(
        ("workspace", "list"), 7, "postgresql://u:***@127.0.0.1", setup=_with_password
    ),
    "db-missing-database": Case(
        ("workspace", "list"),
        7,
        'database "sadeem_no_such_db" does not exist',
        env={
            "SADEEM_DATABASE_URL": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/sadeem_no_such_db"
        },
        needs_postgres=True,
    ),
    "db-unknown-role": Case(
        ("workspace", "list"),
        7,
        'role "sadeem_no_such_role" does not exist',
        env={"SADEEM_DATABASE_URL": f"postgresql://sadeem_no_such_role@{PG_HOST}:{PG_PORT}/test"},
        needs_postgres=True,
    ),
    "db-text-file": Case(
        ("workspace", "list"),
        7,
        "metadata database unavailable (sqlite:///{tmp}/other.db): file is not a database",
        setup=_file_db(b"these are my notes, not a database\n" * 200),
    ),
    "db-garbage": Case(
        ("workspace", "list"),
        2,
        "database_url: not a database URL",
        env={"SADEEM_DATABASE_URL": "::garbage::"},
    ),
    "db-unknown-driver": Case(
        ("workspace", "list"),
        2,
        "database_url: unsupported database 'mysql'",
        env={"SADEEM_DATABASE_URL": "mysql://u@127.0.0.1/x"},
    ),
    "db-driver-not-installed": Case(
        ("workspace", "list"),
        2,
        "driver 'psycopg' is not installed; installed: postgresql+psycopg2://",
        env={"SADEEM_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/x"},
    ),
    # --data-dir that cannot be used (the read-only one is its own test below)
    "data-dir-under-a-file": Case(
        ("workspace", "list", "--data-dir", "{tmp}/a-file/data"),
        2,
        "data_dir: cannot use",
        setup=lambda tmp: (tmp / "a-file").write_text("x") and {},
    ),
    "data-dir-under-proc": Case(
        ("workspace", "list", "--data-dir", "/proc/sadeem-data"), 2, "data_dir: cannot use"
    ),
    # text that is not UTF-8
    "sql-file-not-utf8": Case(
        ("sql", "-w", "w", "-f", "{tmp}/bad.sql"),
        2,
        "--file: {tmp}/bad.sql is not UTF-8 text (byte 0xff at offset 8)",
        setup=_bad_utf8_file,
    ),
    "sql-stdin-not-utf8": Case(
        ("sql", "-w", "w", "-f", "-"), 2, "--file: standard input is not UTF-8", stdin=b"\xff"
    ),
    "sql-e-not-utf8": Case(
        ("sql", "-w", "w", "-e", os.fsdecode(b"SELECT '\xff'")), 2, "--execute: not valid UTF-8"
    ),
    "job-sql-file-not-utf8": Case(
        ("job", "create", "-w", "w", "j3", "--type", "sql", "--sql-file", "{tmp}/bad.sql"),
        2,
        "--sql-file: {tmp}/bad.sql is not UTF-8 text",
        setup=_bad_utf8_file,
    ),
    "secret-stdin-not-utf8": Case(
        (*S3, "--set", "access_key=a", "--secret-stdin", "secret_key"),
        2,
        "--secret-stdin: standard input is not UTF-8",
        stdin=b"\xc3\x28\n",
    ),
    "set-value-not-utf8": Case(
        ("connection", "create", "c", "--type", "trino", "--set", os.fsdecode(b"host=\xff")),
        2,
        "--set: not valid UTF-8",
    ),
    # output to a directory that does not exist: refused before the query runs (no history)
    "sql-output-missing-dir": Case(
        ("sql", "-w", "w", "-e", "SELECT 1", "-o", "/missing-dir/x.csv"),
        2,
        "--output: directory /missing-dir does not exist",
    ),
    # connection fields
    "s3-access-key-without-secret": Case(
        (*S3, "--set", "access_key=sadeem"),
        2,
        "config.secret_key: access_key is set, so secret_key is needed too",
    ),
    "s3-secret-without-access-key": Case(
        (*S3, "--secret-stdin", "secret_key"),
        2,
        "config.access_key: secret_key is set, so access_key is needed too",
        stdin=b"s3cr3t\n",
    ),
    "trino-port-out-of-range": Case(
        ("connection", "create", "t", "--type", "trino", "--set", "host=h", "--set", "port=70000"),
        2,
        "config.port: must be between 1 and 65535",
    ),
    "timeout-s-zero": Case(
        ("connection", "create", "t", "--type", "trino", "--set", "host=h", "--set", "timeout_s=0"),
        2,
        "config.timeout_s: must be between 1 and 3600",
    ),
    "timeout-s-past-64-bits": Case(
        (*TRINO, "--set", f"timeout_s={BIG}"),
        2,
        "config.timeout_s: must be between 1 and 3600",
    ),
    # schedules: refused before the job is written
    **{
        f"cron-{name}": Case((*JOB, "--cron", cron), 2, "cron: invalid cron expression")
        for name, cron in (
            ("minute-61", "61 * * * *"),
            ("three-fields", "* * *"),
            ("every", "@every 5m"),
            ("daily", "@daily"),
            ("seven-fields", "* * * * * * *"),
            ("second-99", "99 * * * * *"),
        )
    },
    "timezone-unknown": Case(
        (*JOB, "--cron", "0 * * * *", "--timezone", "Mars/Olympus"), 2, "timezone: unknown"
    ),
    "timezone-path": Case(
        (*JOB, "--cron", "0 * * * *", "--timezone", "../../../etc/passwd"), 2, "timezone: unknown"
    ),
    "timezone-absolute": Case(
        (*JOB, "--cron", "0 * * * *", "--timezone", "/etc/localtime"), 2, "timezone: unknown"
    ),
    # settings, checked when loaded
    "setting-negative-runs": Case(
        ("workspace", "list"),
        2,
        "max_concurrent_runs: must be between 1 and 1000",
        setup=_config("max_concurrent_runs = -3"),
    ),
    "setting-runs-env": Case(
        ("workspace", "list"),
        2,
        "max_concurrent_runs: must be between 1 and 1000",
        env={"SADEEM_MAX_CONCURRENT_RUNS": BIG},
    ),
    "setting-fractional-runs": Case(
        ("workspace", "list"),
        2,
        "max_concurrent_runs: expected int",
        setup=_config("max_concurrent_runs = 2.5"),
    ),
    "setting-data-dir-table": Case(
        ("workspace", "list"),
        2,
        "data_dir: expected a path",
        setup=_config("data_dir = { a = 1 }"),
        data_dir_flag=False,
    ),
    "setting-heartbeat-nan": Case(
        ("workspace", "list"),
        2,
        "heartbeat_seconds: must be between",
        setup=_config("heartbeat_seconds = nan"),
    ),
    "setting-lease-not-above-heartbeat": Case(
        ("workspace", "list"),
        2,
        "lease_seconds: must be longer than heartbeat_seconds",
        setup=_config("heartbeat_seconds = 10.0\nlease_seconds = 5.0"),
    ),
    "setting-grace-negative": Case(
        ("workspace", "list"),
        2,
        "shutdown_grace_seconds: must be between 0",
        setup=_config("shutdown_grace_seconds = -1.0"),
    ),
    "setting-log-format-array": Case(
        ("workspace", "list"), 2, "log_format: expected str", setup=_config("log_format = [1]")
    ),
    "setting-read-only-word": Case(
        ("workspace", "list"),
        2,
        "read_only: expected bool",
        setup=_config('read_only = "maybe"'),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(name: str, data_dir: Path) -> None:
    case = CASES[name]
    if case.needs_postgres and not port_open(PG_HOST, PG_PORT):
        service_missing(f"PostgreSQL on {PG_HOST}:{PG_PORT}")
    tmp = data_dir.parent
    env = {**case.env, **(case.setup(tmp) if case.setup else {})}
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    before = state(data_dir)
    done = sadeem(data_dir, *argv, env=env, stdin=case.stdin, flag=case.data_dir_flag)
    err = done.stderr.decode()
    assert done.returncode == case.code, (done.returncode, err)
    assert case.message.replace("{tmp}", str(tmp)) in err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # ONE line
    assert "hunter2secret" not in err
    assert state(data_dir) == before
    assert not (tmp / "xdg-data").exists()  # nor a default data dir made instead
    assert not list(tmp.glob("*{'a'*"))  # the directory `{'a': 1}` of the issue


def test_no_case_reaches_the_internal_error(data_dir: Path) -> None:
    """Exit 70 is for bugs: the table above never expects it (a guard against a case being
    'fixed' by writing 70 as its expectation)."""
    assert all(c.code != 70 for c in CASES.values())


@pytest.mark.parametrize("damage", ["zeroed", "truncated"])
def test_damaged_metadata_db_is_reported_and_left_as_it_was(data_dir: Path, damage: str) -> None:
    db = data_dir / "sadeem.db"
    # Fold the WAL into the file first, so the damage is the file's alone.
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    size = db.stat().st_size
    if damage == "zeroed":
        db.write_bytes(b"\0" * size)
    else:
        with db.open("r+b") as f:
            f.truncate(size // 3)
    content = db.read_bytes()
    done = sadeem(data_dir, "workspace", "list")
    err = done.stderr.decode()
    assert done.returncode == 7, err
    assert "metadata database unavailable" in err and err.count("\n") == 1
    assert "file is not a database" in err or "malformed" in err
    assert db.read_bytes() == content  # not migrated over, not "repaired"


def test_read_only_data_dir(tmp_path: Path) -> None:
    """A data dir on a read-only mount (a read-only bind mount when root may mount; else a
    0555 directory, which a non-root user cannot write either)."""
    target = tmp_path / "ro"
    target.mkdir()
    mounted = False
    if os.geteuid() == 0:
        source = tmp_path / "src"
        source.mkdir()
        bind = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
        if bind.returncode == 0:
            mounted = True
            subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root without mount: a 0555 directory does not stop root")
        target.chmod(0o555)
    try:
        for data in (target, target / "sub"):
            done = sadeem(data, "workspace", "list")
            err = done.stderr.decode()
            assert done.returncode == 2, err
            assert f"data_dir: cannot use {data} as the data directory" in err
            assert "Read-only file system" in err or "Permission denied" in err
        assert not any(target.iterdir())
    finally:
        if mounted:
            subprocess.run(["umount", str(target)], check=True)
        else:
            target.chmod(0o755)


def test_bad_cron_leaves_no_job_and_the_fixed_cron_then_works(data_dir: Path) -> None:
    done = sadeem(data_dir, *JOB, "--cron", "61 * * * *")
    assert done.returncode == 2
    done = sadeem(data_dir, *JOB, "--cron", "1 * * * *", "--timezone", "Asia/Riyadh")
    assert done.returncode == 0, done.stderr  # once: "job 'j2' already exists"
    shown = sadeem(data_dir, "job", "show", "-w", "w", "j2", "--json")
    assert b'"cron": "1 * * * *"' in shown.stdout and b"Asia/Riyadh" in shown.stdout
    # An edit with a bad cron changes nothing either: not the description, not the schedule.
    before = state(data_dir)
    done = sadeem(
        data_dir, "job", "edit", "-w", "w", "j2", "--description", "new", "--cron", "@daily"
    )
    assert done.returncode == 2 and b"cron:" in done.stderr
    assert state(data_dir) == before


def test_readme_plain_postgresql_url_works(postgres_url: str, tmp_path: Path) -> None:
    """The README's `postgresql://` URL: SQLAlchemy 2.x maps it to psycopg 3, which is not
    installed; Sadeem uses the installed psycopg2 instead."""
    plain = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    env = {"SADEEM_DATABASE_URL": plain}
    data = tmp_path / "data"
    done = sadeem(data, "db", "upgrade", env=env)
    assert done.returncode == 0, done.stderr
    done = sadeem(data, "workspace", "create", "pgw", env=env)
    assert done.returncode == 0, done.stderr
    assert b"pgw" in sadeem(data, "workspace", "list", env=env).stdout


def test_iceberg_sql_without_uri_or_warehouse_uses_the_documented_defaults(
    data_dir: Path,
) -> None:
    """`uri` and `warehouse` are documented optional (empty = the data dir): the connection
    saves and tests like the embedded catalog, instead of a KeyError (exit 70)."""
    done = sadeem(data_dir, "connection", "create", "cat", "--type", "iceberg_sql")
    assert done.returncode == 0, done.stderr
    done = sadeem(data_dir, "connection", "test", "cat", "--json")
    assert done.returncode == 0, done.stderr
    assert b'"ok": true' in done.stdout


# -- the services the console's job form shares with the CLI (SQLite and PostgreSQL) --------


def _counts(services) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from engine.models import AuditEvent, Job, JobVersion, Schedule

    with services.db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m))
            for m in (Job, JobVersion, Schedule, AuditEvent)
        )


@pytest.mark.parametrize(
    "spec, field",
    [
        (("61 * * * *",), "cron"),
        (("@daily",), "cron"),
        (("* * *",), "cron"),
        (("0 * * * *", "../etc/x"), "timezone"),
        (("0 * * * *", "UTC", "sometimes"), "catchup"),
        (("0 * * * *", "UTC", "none", 86400, "pile-up"), "overlap"),
        (("0 * * * *", "UTC", "none", 2**40), "catchup_window_seconds"),
    ],
)
def test_job_form_create_with_a_bad_schedule_writes_nothing(
    services, admin, spec: tuple, field: str
) -> None:
    from engine.errors import ValidationError
    from engine.services.jobs import ScheduleSpec

    services.workspaces.create(admin, "w")
    before = _counts(services)
    with pytest.raises(ValidationError) as info:
        services.jobs.create(
            admin, "w", "j", "sql", {"sql": "SELECT 1"}, schedule=ScheduleSpec(*spec)
        )
    assert info.value.field == field
    assert _counts(services) == before
    view = services.jobs.create(
        admin, "w", "j", "sql", {"sql": "SELECT 1"}, schedule=ScheduleSpec("5 * * * *")
    )
    assert view.schedule is not None and view.schedule.cron == "5 * * * *"
    # Job, version, schedule and ONE audit event, in one transaction.
    assert _counts(services) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    before = _counts(services)
    with pytest.raises(ValidationError):
        services.jobs.edit(
            admin,
            "w",
            "j",
            definition={"sql": "SELECT 2"},
            schedule=ScheduleSpec("0 0 31 2 * * *"),
        )
    assert _counts(services) == before
    assert services.jobs.get(admin, "w", "j").version == 1


@pytest.mark.parametrize(
    "setting", ["timeout_seconds", "max_retries", "retry_backoff_seconds", "max_concurrent_runs"]
)
def test_job_service_refuses_numbers_past_the_database_integers(
    services, admin, setting: str
) -> None:
    """The form passes numbers straight to the service: 2**31 once overflowed the INTEGER
    column (OverflowError on SQLite, a DataError on PostgreSQL)."""
    from engine.errors import ValidationError

    services.workspaces.create(admin, "w")
    before = _counts(services)
    with pytest.raises(ValidationError, match=f"{setting}: must be <= 2147483647"):
        services.jobs.create(admin, "w", "j", "sql", {"sql": "SELECT 1"}, **{setting: 2**31})
    assert _counts(services) == before
