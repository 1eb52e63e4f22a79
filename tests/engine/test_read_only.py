"""Read-only is a rule of the session, not a screen: every service action that changes
something refuses a read-only actor, whatever its role (here a platform admin, who may do
everything), and changes nothing; everything that only reads still works. On SQLite and
PostgreSQL. Then the CLI's `--read-only`, before or after the command, and from the env.

The lists below are written from the README (roles table, "The console") and issue 13
item 6, not from engine/services/base.py: a change that slips through fails here."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from engine.cli.main import main
from engine.errors import PermissionDenied
from tests.engine.test_role_matrix import snapshot

WS = "team"
TABLE = f"{WS}_bronze.t"


@dataclass
class Change:
    """`prepare(svc, admin, uniq)` builds what `call(svc, actor, arg)` changes."""

    name: str
    call: Callable
    prepare: Callable = lambda svc, admin, uniq: uniq


def _fresh_ws(svc, admin, uniq):
    svc.workspaces.create(admin, f"w{uniq}")
    return f"w{uniq}"


def _user(svc, admin, uniq):
    svc.users.create(admin, f"u{uniq}")
    return f"u{uniq}"


def _member(svc, admin, uniq):
    user = _user(svc, admin, uniq)
    svc.workspaces.add_member(admin, WS, user, "viewer")
    return user


def _conn(scope):
    def make(svc, admin, uniq):
        svc.connections.create(admin, f"c{uniq}", "duckdb", {}, workspace=scope)
        return f"c{uniq}"

    return make


def _job(svc, admin, uniq):
    svc.jobs.create(admin, WS, f"j{uniq}", "sql", {"sql": "SELECT 1 AS x"})
    return f"j{uniq}"


def _scheduled_job(svc, admin, uniq):
    job = _job(svc, admin, uniq)
    svc.jobs.set_schedule(admin, WS, job, "0 3 * * *")
    return job


def _queued_run(svc, admin, uniq):
    return svc.runs.trigger(admin, WS, _job(svc, admin, uniq)).id


def _failed_run(svc, admin, uniq):
    run_id = _queued_run(svc, admin, uniq)
    svc.queue.finish(run_id, "failed", error="boom")
    return run_id


def _sql(text):
    return lambda svc, a, u: svc.sql.execute(a, WS, text.format(u=u)).fetch()


CHANGES = [
    Change("workspace create", lambda s, a, u: s.workspaces.create(a, f"n{u}")),
    Change("workspace update", lambda s, a, u: s.workspaces.update(a, WS, description=f"d{u}")),
    Change("workspace archive", lambda s, a, ws: s.workspaces.archive(a, ws), _fresh_ws),
    Change("workspace provision", lambda s, a, ws: s.provisioning.apply(a, ws), _fresh_ws),
    Change("member add", lambda s, a, user: s.workspaces.add_member(a, WS, user, "viewer"), _user),
    Change("member remove", lambda s, a, user: s.workspaces.remove_member(a, WS, user), _member),
    Change("connection create", lambda s, a, u: s.connections.create(a, f"n{u}", "duckdb", {})),
    Change(
        "workspace connection create",
        lambda s, a, u: s.connections.create(a, f"n{u}", "duckdb", {}, workspace=WS),
    ),
    Change(
        "connection update",
        lambda s, a, name: s.connections.update(a, name, {"threads": 2}),
        _conn(None),
    ),
    Change(
        "connection description",
        lambda s, a, name: s.connections.update(a, name, description="new"),
        _conn(WS),
    ),
    Change("connection delete", lambda s, a, name: s.connections.delete(a, name), _conn(WS)),
    Change("user create", lambda s, a, u: s.users.create(a, f"n{u}")),
    Change("user update", lambda s, a, user: s.users.update(a, user, display_name="X"), _user),
    Change(
        "user password", lambda s, a, user: s.users.set_password(a, user, "long-enough-1"), _user
    ),
    Change("own password", lambda s, a, _u: s.users.set_password(a, a.username, "long-enough-2")),
    Change("sql create table", _sql(f"CREATE TABLE {WS}_bronze.ro_test_{{u}} AS SELECT 1 AS x")),
    Change("sql insert", _sql(f"INSERT INTO {TABLE} VALUES (2)")),
    Change("sql view", _sql(f"CREATE VIEW {WS}_bronze.v{{u}} AS SELECT * FROM {TABLE}")),
    Change("sql drop", _sql(f"DROP TABLE {WS}_bronze.d{{u}}"), lambda s, a, u: _drop_me(s, a, u)),
    Change(
        "job create",
        lambda s, a, u: s.jobs.create(a, WS, f"n{u}", "sql", {"sql": "SELECT 1 AS x"}),
    ),
    Change(
        "job edit",
        lambda s, a, job: s.jobs.edit(a, WS, job, definition={"sql": "SELECT 2 AS x"}),
        _job,
    ),
    Change("job description", lambda s, a, job: s.jobs.edit(a, WS, job, description="d"), _job),
    Change("job schedule", lambda s, a, job: s.jobs.set_schedule(a, WS, job, "0 3 * * *"), _job),
    Change("job pause", lambda s, a, job: s.jobs.pause(a, WS, job, True), _scheduled_job),
    Change("job run", lambda s, a, job: s.runs.trigger(a, WS, job), _job),
    Change("run cancel", lambda s, a, run_id: s.runs.cancel(a, run_id), _queued_run),
    Change("run retry", lambda s, a, run_id: s.runs.retry(a, run_id), _failed_run),
]


def _drop_me(svc, admin, uniq):
    svc.sql.execute(admin, WS, f"CREATE TABLE {WS}_bronze.d{uniq} AS SELECT 1 AS x").fetch()
    return uniq


@pytest.fixture
def world(services, admin):
    """Workspace `team`, provisioned, with one table of one row."""
    services.workspaces.create(admin, WS)
    services.provisioning.apply(admin, WS)
    services.sql.execute(admin, WS, f"CREATE TABLE {TABLE} AS SELECT 1 AS x").fetch()
    return services


def lake_state(svc, admin) -> tuple:
    """What SQL can change: the workspace's tables and the rows of `TABLE`."""
    tables = sorted(
        (ns, t) for ns in svc.catalog.namespaces(admin, WS) for t in svc.catalog.tables(admin, ns)
    )
    rows = svc.sql.execute(admin, WS, f"SELECT count(*) AS n FROM {TABLE}").fetch()
    return tables, rows.to_pylist()


def test_every_change_is_refused_to_a_read_only_session(world, admin):
    svc = world
    read_only = replace(admin, read_only=True)
    problems = []
    for uniq, case in enumerate(CHANGES):
        arg = case.prepare(svc, admin, uniq)
        lake = lake_state(svc, admin)  # before the snapshot: it records SQL history
        before = snapshot(svc)
        try:
            case.call(svc, read_only, arg)
            problems.append(f"{case.name}: allowed")
            continue
        except PermissionDenied as exc:
            if "read-only session" not in str(exc):
                problems.append(f"{case.name}: refused for another reason: {exc}")
        if snapshot(svc) != before:
            problems.append(f"{case.name}: refused but the metadata DB changed")
        if lake_state(svc, admin) != lake:
            problems.append(f"{case.name}: refused but the lake changed")
        # The same call from a session that is not read-only works: the refusal was the rule.
        case.call(svc, admin, arg)
    assert problems == []


def test_a_read_only_session_still_reads(world, admin):
    svc = world
    ro = replace(admin, read_only=True)
    svc.connections.create(admin, "wc", "duckdb", {}, workspace=WS)
    job = _job(svc, admin, 1)
    run_id = _failed_run(svc, admin, 2)
    before = snapshot(svc)
    assert svc.workspaces.get(ro, WS).name == WS
    assert [w.name for w in svc.workspaces.list(ro)] == [WS]
    assert svc.workspaces.members(ro, WS)
    assert svc.provisioning.plan(ro, WS).complete
    assert svc.separation.check(ro, WS) == []
    assert [c.name for c in svc.connections.list(ro)] == ["wc"]
    assert svc.health.test(ro, "wc").ok
    assert "t" in svc.catalog.tables(ro, f"{WS}_bronze")
    assert svc.jobs.get(ro, WS, job).name == job
    assert svc.runs.get(ro, run_id).state == "failed"
    assert svc.runs.list(ro, WS)
    svc.runs.logs(ro, run_id)
    assert svc.audit.list(ro, limit=5)
    assert svc.users.whoami(ro).username == "admin"
    # A read statement is a read: it runs (and is kept in the query history, not audited).
    rows = svc.sql.execute(ro, WS, f"SELECT x FROM {TABLE}").fetch().to_pylist()
    assert rows == [{"x": 1}]
    after = snapshot(svc)
    assert {k: v for k, v in after.items() if k != "query_history"} == {
        k: v for k, v in before.items() if k != "query_history"
    }


def test_the_role_is_checked_before_the_session(world, admin, make_member):
    """A read-only runner is refused a write as read-only; a viewer still hears about its role."""
    runner = replace(make_member(WS, "runner"), read_only=True)
    viewer = replace(make_member(WS, "viewer"), read_only=True)
    write = f"CREATE TABLE {WS}_bronze.x AS SELECT 1 AS x"
    with pytest.raises(PermissionDenied, match="read-only session"):
        world.sql.execute(runner, WS, write)
    with pytest.raises(PermissionDenied, match="role 'runner' or higher"):
        world.sql.execute(viewer, WS, write)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_read_only_flag_before_or_after_the_command_and_from_the_env(
    tmp_path, capsys, monkeypatch
):
    d = ("--data-dir", str(tmp_path))
    assert run(capsys, "workspace", "create", "sales", *d)[0] == 0
    events = json.loads(run(capsys, "audit", "list", "--json", *d)[1])
    for argv in (
        ["--read-only", "workspace", "create", "other"],
        ["workspace", "update", "sales", "--description", "x", "--read-only"],
        ["--read-only", "connection", "create", "c", "--type", "duckdb"],
        ["--read-only", "user", "create", "mallory", "--admin"],
    ):
        code, out, err = run(capsys, *argv, *d)
        assert code == 4, (argv, err)
        assert "read-only session" in err and "Traceback" not in err
    monkeypatch.setenv("SADEEM_READ_ONLY", "true")
    code, _out, err = run(capsys, "workspace", "archive", "sales", *d)
    assert code == 4 and "read-only session" in err
    # Reads work read-only, and nothing above was written.
    code, out, _ = run(capsys, "--read-only", "workspace", "list", "--json", *d)
    assert code == 0 and [w["name"] for w in json.loads(out)] == ["sales"]
    assert json.loads(run(capsys, "audit", "list", "--json", *d)[1]) == events


def test_cli_read_only_migrates_no_schema_and_runs_nothing(tmp_path, capsys):
    """`db downgrade base` drops every table: a read-only session must not run it (nor an
    upgrade, nor an engine that executes runs); `db current` only reads."""
    d = ("--data-dir", str(tmp_path))
    assert run(capsys, "workspace", "create", "sales", *d)[0] == 0
    for argv in (
        ["--read-only", "db", "downgrade", "base"],
        ["db", "upgrade", "--read-only"],
        ["--read-only", "engine", "serve"],  # it would execute runs, which write
    ):
        code, _out, err = run(capsys, *argv, *d)
        assert code == 4 and "read-only session" in err, (argv, err)
    assert run(capsys, "--read-only", "db", "current", *d)[0] == 0
    code, out, _ = run(capsys, "workspace", "list", "--json", *d)
    assert code == 0 and [w["name"] for w in json.loads(out)] == ["sales"]


def test_cli_read_only_after_a_password_login(tmp_path, capsys, monkeypatch):
    """The session a password login opens is read-only too: the flag is not the OS path's."""
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    system = etc / "config.toml"
    system.write_text('auth = "password"\n')
    system.chmod(0o644)
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_PATH", system)
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_OWNER", os.getuid())
    d = ("--data-dir", str(tmp_path / "data"))
    password = "a long enough password"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n"))
    assert run(capsys, "user", "bootstrap", "ana", "--password-stdin", *d)[0] == 0
    login = ("--login", "ana", "--login-password-stdin")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n"))
    code, _out, err = run(capsys, *login, "--read-only", "workspace", "create", "w", *d)
    assert code == 4 and "read-only session" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n"))
    code, out, err = run(capsys, *login, "--read-only", "workspace", "list", "--json", *d)
    assert code == 0 and json.loads(out) == [], err
