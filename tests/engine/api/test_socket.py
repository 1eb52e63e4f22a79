"""Shared-site mode: `sadeem engine serve` on a Unix socket, thin CLI clients as OS users.

What the README promises: the acting user is the peer's OS account (SO_PEERCRED), whatever
the request says; each account gets its own role's rights; a client with `--server` never
opens the database, never reads the key, never resolves a secret; a refused action has the
exit code it has embedded (README, "CLI": 4 permission denied, 3 not found, ...); the audit
trail records the source `socket`; runner-internal verbs are not reachable."""

from __future__ import annotations

import csv
import json
import os
import stat

import pytest

from tests.engine.api.conftest import OsUser, Server, as_user

# README, "CLI": the documented exit codes.
NOT_FOUND, PERMISSION_DENIED, BACKEND = 3, 4, 6


@pytest.fixture(scope="module")
def site(server: Server, second_user: OsUser):
    """root (the first account the engine sees: the platform admin) makes workspace `sales`
    and makes the second account a viewer there, all through the socket."""
    import subprocess
    import sys

    from tests.engine.api.conftest import _client_env

    env = _client_env(server.base)

    def sadeem(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "--server", server.url, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for argv in (
        ("workspace", "create", "sales"),
        ("user", "create", second_user.name),
        ("workspace", "member", "add", "sales", second_user.name, "viewer"),
    ):
        done = sadeem(*argv)
        assert done.returncode == 0, done.stderr
    return second_user


def test_each_os_account_acts_as_itself_with_its_role(server, site, client, client_as):
    code, out, err = client("user", "whoami", "--json")
    assert code == 0, err
    assert json.loads(out)["username"] == "root"
    assert json.loads(out)["platform_role"] == "admin"

    code, out, err = client_as(site, "user", "whoami", "--json")
    assert code == 0, err
    me = json.loads(out)
    assert me["username"] == site.name and me["platform_role"] == "user"

    # The viewer reads the workspace ...
    code, out, err = client_as(site, "workspace", "show", "sales", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] == "sales"
    code, out, err = client_as(site, "sql", "-w", "sales", "-e", "SELECT 41 + 1 AS n", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == [{"n": 42}]
    # ... and is refused a change, by the server, with the exit code it has embedded.
    code, out, err = client_as(site, "workspace", "update", "sales", "--description", "mine")
    assert code == PERMISSION_DENIED, (out, err)
    assert "workspace.update" in err and "viewer" in err
    code, _, err = client_as(site, "workspace", "create", "hers")
    assert code == PERMISSION_DENIED, err
    code, _, err = client_as(
        site, "sql", "-w", "sales", "-e", "CREATE TABLE sales_bronze.t AS SELECT 1 AS n"
    )
    assert code == PERMISSION_DENIED, err
    # Nothing changed.
    code, out, _ = client("workspace", "show", "sales", "--json")
    assert json.loads(out)["description"] == ""
    code, out, _ = client("workspace", "list", "--json")
    assert [w["name"] for w in json.loads(out)] == ["sales"]

    # The admin's change goes through, and the audit trail says who and through which door.
    code, _, err = client("workspace", "update", "sales", "--description", "sales team")
    assert code == 0, err
    code, out, err = client("audit", "list", "--action", "workspace.", "--json")
    assert code == 0, err
    events = json.loads(out)
    assert {(e["action"], e["username"], e["source"]) for e in events} >= {
        ("workspace.create", "root", "socket"),
        ("workspace.update", "root", "socket"),
    }
    code, out, _ = client("audit", "list", "--action", "user.create", "--json")
    assert code == 0
    made = [(e["username"], e["source"], e["target"]) for e in json.loads(out)]
    assert made == [("root", "socket", site.name)]


def test_errors_keep_their_exit_codes(server, site, client, client_as):
    code, _, err = client("workspace", "show", "nope")
    assert code == NOT_FOUND and "nope" in err
    code, _, err = client("run", "show", "999999")
    assert code == NOT_FOUND, err
    code, _, err = client("sql", "-w", "sales", "-e", "SELECT * FROM no_such_table")
    assert code == BACKEND, err
    code, _, err = client("--read-only", "workspace", "create", "ro")
    assert code == PERMISSION_DENIED and "read-only" in err
    # The viewer sees only its own events: the server filters as the viewer, not as root.
    code, out, err = client_as(site, "audit", "list", "-w", "sales", "--json")
    assert code == 0, err
    assert [e for e in json.loads(out) if e["username"] != site.name] == []


def test_the_client_never_opens_the_database(server, site, client, client_as):
    # root's client: its data dir cannot exist (a file stands on the path), yet every verb
    # works, and nothing was created for it.
    data_dir = client.env["SADEEM_DATA_DIR"]
    code, out, err = client("workspace", "list", "--json")
    assert code == 0, err
    code, _, err = client("job", "list", "-w", "sales")
    assert code == 0, err
    assert not os.path.exists(data_dir)
    # Without --server the same environment has no engine: the check above means something.
    import subprocess
    import sys

    env = dict(client.env)
    embedded = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "workspace", "list"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert embedded.returncode == 2 and "data directory" in embedded.stderr

    # The second account cannot read the engine's data dir (the DB, the key) at all ...
    mode = stat.S_IMODE(server.data_dir.stat().st_mode)
    assert mode == 0o700 and server.data_dir.stat().st_uid == 0

    def peek() -> int:
        for name in ("sadeem.db", "secret.key"):
            try:
                open(server.data_dir / name, "rb").close()
            except PermissionError:
                continue
            print(f"{name} was readable")
            return 1
        return 0

    code, out, err = as_user(site, peek, client.env)
    assert code == 0, out + err
    # ... and works all the same, through the engine.
    code, out, err = client_as(site, "job", "list", "-w", "sales", "--json")
    assert code == 0, err
    assert json.loads(out) == []


def test_a_forged_identity_is_ignored(server, site, client, client_as):
    """Headers and body fields naming another user change nothing: the kernel's peer
    credentials decide. A viewer claiming to be root is still refused."""
    import httpx

    def forge() -> int:
        http = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(server.socket)), base_url="http://x"
        )
        forged = {
            "X-Sadeem-User": "root",
            "X-Remote-User": "root",
            "X-Forwarded-User": "root",
            "Authorization": "Bearer root",
        }
        who = http.post("/v1/users/whoami", json={}, headers=forged).json()
        print(json.dumps({"whoami": who["result"]["$view"][1]["username"]}))
        update = http.post(
            "/v1/workspaces/update",
            json={"args": ["sales"], "kwargs": {"description": "forged"}},
            headers=forged,
        )
        print(json.dumps({"update": update.status_code}))
        as_actor = http.post(
            "/v1/workspaces/update",
            json={"args": ["sales"], "kwargs": {"actor": "root", "description": "x"}},
            headers=forged,
        )
        print(json.dumps({"actor_field": as_actor.status_code}))
        # An Actor smuggled as a positional argument is no view the wire accepts.
        smuggled = http.post(
            "/v1/workspaces/update",
            json={"args": [{"$view": ["Actor", {"username": "root"}]}, "sales"]},
            headers=forged,
        )
        print(json.dumps({"smuggled": smuggled.status_code}))
        return 0

    code, out, err = as_user(site, forge, client.env)
    assert code == 0, err
    seen = {k: v for line in out.splitlines() for k, v in json.loads(line).items()}
    assert seen == {"whoami": site.name, "update": 403, "actor_field": 400, "smuggled": 400}
    code, out, _ = client("workspace", "show", "sales", "--json")
    assert json.loads(out)["description"] in ("", "sales team")  # neither "forged" nor "x"


def test_runner_verbs_are_not_reachable(server, site, client):
    """runs.finish, runs.claim, engine_state.acquire_lease trust their caller: not served."""
    import httpx

    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(server.socket)), base_url="http://x")
    for path in (
        "/v1/runs/finish",
        "/v1/runs/claim",
        "/v1/runs/mark_scheduled",
        "/v1/engine_state/acquire_lease",
        "/v1/users/bootstrap",
        "/v1/users/register",
        "/v1/connections/resolve",
        "/v1/ctx/secrets",
    ):
        answer = http.post(path, json={"args": ["x", 1, 1]})
        assert answer.status_code == 404, path
        assert answer.json()["error"]["class"] == "NotFound"


def test_sql_rows_arrive_as_arrow(server, site, client):
    code, out, err = client(
        "sql", "-w", "sales", "-e", "SELECT * FROM range(5000) t(i)", "--json", "--max-rows", "3"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["rows"] == [{"i": 0}, {"i": 1}, {"i": 2}] and body["truncated"] is True
    out_file = server.base / "all.csv"
    code, out, err = client(
        "sql", "-w", "sales", "-e", "SELECT * FROM range(70000) t(i)", "-o", str(out_file)
    )
    assert code == 0, err
    assert len(out_file.read_text().splitlines()) == 70001  # header + every row
    # No row: the columns still arrive (the CSV's header, --json's columns).
    empty = "SELECT i, i * 2 AS twice FROM range(5) t(i) WHERE i > 99"
    code, out, err = client("sql", "-w", "sales", "-e", empty, "-o", str(out_file))
    assert code == 0, err
    assert list(csv.reader(out_file.read_text().splitlines())) == [["i", "twice"]]
    code, out, err = client("sql", "-w", "sales", "-e", empty, "--json")
    assert code == 0, err
    assert json.loads(out)["columns"] == ["i", "twice"] and json.loads(out)["rows"] == []


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_ctrl_c_stops_the_query_on_the_engine(server, site, client, how):
    """README: Ctrl-C cancels the statement on the server; through the socket too, even
    while the engine has sent no row yet. A client killed outright (no cancel sent) stops
    it too: the engine sees the connection go."""
    import signal
    import subprocess
    import sys
    import time

    marker = 1000000000000 + (1 if how == "SIGKILL" else 0)
    sql = f"SELECT count(*) AS n FROM range({marker}) a"  # far more than a test's time
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, "sql", "-w", "sales",
         "-e", sql],
        env=client.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4)  # started, and running on the engine
    assert proc.poll() is None
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=30)
    if how == "SIGINT":
        assert proc.returncode == BACKEND and "cancelled" in err  # as embedded: QueryCancelled
    deadline = time.monotonic() + 30
    states: list[str] = []
    while time.monotonic() < deadline:
        _, out, _ = client("sql", "-w", "sales", "--history", "--search", str(marker), "--json")
        states = [h["state"] for h in json.loads(out)]
        if states:
            break
        time.sleep(0.5)
    assert states == ["cancelled"]


def test_a_script_is_checked_whole_before_its_first_statement(server, site, client):
    """README ("SQL"): every statement of a script is checked before the first runs; over
    the socket too, so a refused last statement leaves the first undone."""
    script = "CREATE TABLE sales_bronze.s1 AS SELECT 1 AS n; COPY (SELECT 1) TO '/tmp/x.csv'"
    code, _, err = client("sql", "-w", "sales", "-e", script)
    assert code != 0 and "COPY" in err.upper(), err
    code, _, err = client("sql", "-w", "sales", "-e", "SELECT * FROM sales_bronze.s1")
    assert code == BACKEND, err  # no such table: the CREATE never ran
    code, out, err = client("sql", "-w", "sales", "-e", "SELECT 1 AS a; SELECT 2 AS b", "--json")
    assert code == 0, err
    assert [json.loads(line)["rows"] for line in out.splitlines()] == [[{"a": 1}], [{"b": 2}]]


def test_a_thin_client_imports_neither_sqlalchemy_nor_pyiceberg(server, client):
    """README (issue 17, a light CLI path): a client of a running engine decodes what the
    engine sends without the database layer; importing it cost a --server call ~1 s."""
    import subprocess
    import sys

    assert client("workspace", "create", "thin")[0] == 0
    heavy = ("sqlalchemy", "pyiceberg", "engine.models", "engine.db", "engine.services")
    for argv in (
        ["workspace", "list", "--json"],
        ["job", "list", "-w", "thin"],
        ["run", "list", "-w", "thin"],
        ["sql", "-w", "thin", "-e", "SELECT 1 AS x"],
    ):
        code = (
            "import sys; from engine.cli.main import main; "
            f"rc = main(['--server', sys.argv[1], *{argv!r}]); "
            f"print('RESULT', rc, sorted(m for m in {heavy!r} if m in sys.modules))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, server.url],
            env=client.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
        assert result == ["RESULT 0 []"], (argv, proc.stdout[-500:], proc.stderr[-500:])
