"""The engine's HTTP API: bearer tokens, their refusals and audit; the operations endpoints.

README ("Shared site"): over HTTP the user is a token's; a missing, wrong, expired or
revoked token is 401, a read-only token's write is 403, and each is an audit event; tokens
are stored as their SHA-256 only. /healthz fails when the engine's loops stop, /readyz says
whether the database and schema are there, /metrics is Prometheus text."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.engine.api.conftest import _client_env


def _sadeem(server, env, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tokens(server):
    """Four tokens of root's, made through the socket: good, read-only, expired, revoked."""
    env = _client_env(server.base)
    out = {}
    for name, extra in (
        ("good", ()),
        ("ro", ("--read-only",)),
        ("old", ("--expires", "60")),
        ("gone", ()),
    ):
        argv = ("--server", server.url, "token", "create", *extra, "--name", name, "--json")
        done = _sadeem(server, env, *argv)
        assert done.returncode == 0, done.stderr
        out[name] = json.loads(done.stdout)
    done = _sadeem(server, env, "--server", server.url, "token", "revoke", str(out["gone"]["id"]))
    assert done.returncode == 0, done.stderr
    # Age the expiring token past its end (a minute is the shortest one may ask for).
    with sqlite3.connect(server.data_dir / "sadeem.db") as db:
        db.execute(
            "UPDATE api_tokens SET expires_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
            (out["old"]["id"],),
        )
    return out


def _audit(server, action: str, since: str | None = None) -> list[dict]:
    env = _client_env(server.base)
    after = ("--since", since) if since else ()
    done = _sadeem(
        server, env, "--server", server.url, "audit", "list", "--action", action, *after, "--json"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_token_statuses_and_their_audit_events(server, tokens):
    http = httpx.Client(base_url=server.http)

    def whoami(token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return http.post("/v1/users/whoami", json={}, headers=headers)

    from datetime import UTC, datetime

    since = datetime.now(UTC).isoformat()
    answers = {
        "missing": whoami(None),
        "unknown": whoami("sdm_not-a-token"),
        "expired": whoami(tokens["old"]["token"]),
        "revoked": whoami(tokens["gone"]["token"]),
    }
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 401)
    assert {r.json()["error"]["class"] for r in answers.values()} == {"Unauthenticated"}
    refused = _audit(server, "token.refused", since)
    assert sorted(e["details"]["reason"] for e in refused) == sorted(answers)
    assert {e["source"] for e in refused} == {"http"}
    # No refusal message or audit event carries a token.
    for token in (tokens["old"]["token"], tokens["gone"]["token"]):
        assert token not in json.dumps(refused)
        assert all(token not in r.text for r in answers.values())

    ok = whoami(tokens["good"]["token"])
    assert ok.status_code == 200
    assert ok.json()["result"]["$view"][1]["username"] == "root"

    # A read-only token reads, and its write is refused (403, audited), changing nothing.
    ro = {"Authorization": f"Bearer {tokens['ro']['token']}"}
    assert http.post("/v1/workspaces/list", json={}, headers=ro).status_code == 200
    write = http.post("/v1/workspaces/create", json={"args": ["by_ro"]}, headers=ro)
    assert write.status_code == 403 and write.json()["error"]["class"] == "PermissionDenied"
    door = _audit(server, "api.refused")
    assert [(e["username"], e["source"], e["target"]) for e in door] == [
        ("root", "http", "workspaces.create")
    ]
    names = http.post("/v1/workspaces/list", json={}, headers=ro).json()["result"]
    assert "by_ro" not in json.dumps(names)


def test_tokens_are_stored_hashed(server, tokens):
    with sqlite3.connect(server.data_dir / "sadeem.db") as db:
        rows = db.execute("SELECT * FROM api_tokens").fetchall()
    dump = json.dumps(rows, default=str)
    for made in tokens.values():
        assert made["token"] not in dump
        assert hashlib.sha256(made["token"].encode()).hexdigest() in dump


def test_the_cli_over_http_with_a_token_file(server, tokens, tmp_path):
    env = _client_env(server.base)
    good = tmp_path / "token"
    good.write_text(tokens["good"]["token"] + "\n")
    good.chmod(0o600)
    done = _sadeem(
        server, {**env, "SADEEM_TOKEN_FILE": str(good)}, "--server", server.http,
        "workspace", "create", "over_http",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    created = _audit(server, "workspace.create")
    assert ("root", "http", "over_http") in {
        (e["username"], e["source"], e["target"]) for e in created
    }
    bad = tmp_path / "bad"
    bad.write_text("sdm_wrong\n")
    done = _sadeem(
        server, {**env, "SADEEM_TOKEN_FILE": str(bad)}, "--server", server.http,
        "workspace", "list",
    )  # fmt: skip
    assert done.returncode == 4 and "not authenticated" in done.stderr  # README: 4
    done = _sadeem(server, env, "--server", server.http, "workspace", "list")
    assert done.returncode == 2 and "token_file" in done.stderr


def test_operations_endpoints(server, tokens):
    from prometheus_client.parser import text_string_to_metric_families

    http = httpx.Client(base_url=server.http)
    health = http.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["schema_current"] is True
    # A SQL job runs on the server's engine; the scrape shows it.
    env = _client_env(server.base)
    s = ("--server", server.url)
    for argv in (
        ("workspace", "create", "metrics_ws"),
        ("job", "create", "-w", "metrics_ws", "j", "--type", "sql", "--sql", "SELECT 1 AS n"),
        ("job", "run", "-w", "metrics_ws", "j", "--wait"),
    ):
        done = _sadeem(server, env, *s, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    samples = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = http.get("/metrics").text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        if samples.get(("sadeem_runs", (("job_type", "sql"), ("state", "succeeded")))):
            break
        time.sleep(0.3)
    assert samples[("sadeem_runs", (("job_type", "sql"), ("state", "succeeded")))] >= 1
    assert samples[("sadeem_queue_depth", ())] == 0
    assert samples[("sadeem_holds_scheduler_lease", ())] == 1
    assert (
        samples[("sadeem_api_requests_total", (("route", "runs.trigger"), ("status", "200")))] >= 1
    )


def test_healthz_fails_when_the_loops_stop(services, monkeypatch):
    """A real engine's loops: healthy while they go round, 503 once they stop."""
    from starlette.testclient import TestClient

    import engine.api.ops
    from engine.api.server import Api
    from engine.runner.engine import Engine

    monkeypatch.setattr(engine.api.ops, "STALE_MIN_S", 0.5)
    eng = Engine(services, schedule=False, poll_interval=0.05)
    eng.heartbeat_s = 0.1
    client = TestClient(Api(services, eng).app())
    assert client.get("/healthz").status_code == 503  # never went round
    eng.start()
    try:
        deadline = time.monotonic() + 10
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/healthz").status_code == 200
    finally:
        eng.stop(grace_s=1)
    time.sleep(1.0)
    stuck = client.get("/healthz")
    assert stuck.status_code == 503
    assert set(stuck.json()["stuck"]) == {"heartbeat", "dispatch"}


def test_openapi_describes_what_is_served(server):
    http = httpx.Client(base_url=server.http)
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    verbs = [
        p
        for p in doc["paths"]
        if p.startswith("/v1/") and p not in ("/v1/sql/execute", "/v1/login")
    ]
    # A login needs no token: this engine's auth is "os", so it takes none (403, not 404).
    assert http.post("/v1/login", json={}).status_code == 403
    assert "/v1/workspaces/create" in verbs and "/v1/runs/trigger" in verbs
    for internal in ("/v1/runs/finish", "/v1/runs/claim", "/v1/engine_state/acquire_lease"):
        assert internal not in doc["paths"]
    # Every described verb is routed (401 without a token, not 404).
    for path in verbs:
        assert http.post(path, json={}).status_code == 401, path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # Nested deeper than json.loads can go, and deep enough for the codec's own walk.
        ("/v1/workspaces/list", b'{"args": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("/v1/sql/history", b'{"args": [' + b"[" * 900 + b"]" * 900 + b"]}"),
        ("/v1/sql/execute", b'{"args": [' + b"[" * 900 + b"]" * 900 + b"]}"),
        (
            "/v1/sql/script",
            b'{"kwargs": {"x": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}}",
        ),
        # A lone surrogate: valid JSON, a string no database or log can encode.
        ("/v1/workspaces/get", b'{"args": ["\\ud800"]}'),
        ("/v1/sql/history", b'{"kwargs": {"search": "\\udfff"}}'),
        ("/v1/sql/execute", b'{"args": ["w", "SELECT 1"], "kwargs": {"connection": "\\ud800"}}'),
        # An Arrow stream whose header promises more than it holds (pyarrow: OSError).
        ("/v1/workspaces/get", b'{"args": [{"$arrow": "/////xAAAAD/////////////////////"}]}'),
    ],
    ids=["deep", "deep-history", "deep-sql", "deep-script", "ws", "search", "connection", "arrow"],
)
def test_a_body_no_service_can_take_is_a_400_never_a_500(server, tokens, path, body):
    """Attack: crash the engine's handlers with input json.loads accepts (or nearly): a
    deeply nested body (RecursionError) or a lone surrogate (UnicodeEncodeError in the
    database driver), or a corrupt Arrow value. README: no input a client can send is
    meant to be a 500."""
    http = httpx.Client(base_url=server.http, timeout=60)
    headers = {"Authorization": f"Bearer {tokens['good']['token']}"}
    answer = http.post(path, content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["class"] == "ValidationError" and "\n" not in error["message"]
