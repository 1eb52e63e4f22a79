"""/metrics and /healthz of a real `sadeem engine serve` while runs execute.

The issue ("Operations endpoints", "Must show"): `/metrics`, read by a real Prometheus text
parser, has runs by state and job type, the queue depth, claim and schedule lag histograms,
run durations, backend health, SQL queries and their durations, and active sessions; scraped
while runs execute it shows the queue and the runs MOVE. `/healthz` fails when a loop is
stuck (alive but not going round), not only when it stopped. Labels never carry a name,
a host or a secret (README: "states and counts, never names")."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.engine.api.conftest import _client_env

# ~1 s of DuckDB work per statement on the CI machine; the job's three make a run last
# seconds, so runs queued behind it (max 1 at a time) are seen waiting.
SLOW = "SELECT sum(range % 7) AS s FROM range(300000000)"
SECRET = "hunter2-s3cret-pw"
HOST = "ops-db-host.invalid"


def _sadeem(server, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, *argv],
        env=_client_env(server.base),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def scrape(server) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, through prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.http}/metrics", timeout=30).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


@pytest.fixture(scope="module")
def remote(server):
    from engine.client import Transport

    transport = Transport(server.url)
    yield transport
    transport.close()


def test_runs_and_queue_move_while_runs_execute(server, remote):
    for argv in (
        ("workspace", "create", "ops"),
        ("job", "create", "-w", "ops", "slow", "--type", "sql", "--max-concurrent", "1",
         "--sql", f"{SLOW}; {SLOW}; {SLOW}"),
    ):  # fmt: skip
        done = _sadeem(server, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    before = scrape(server)
    assert value(before, "sadeem_queue_depth") == 0
    done_before = value(before, "sadeem_runs", state="succeeded", job_type="sql")

    ids = [remote.call("runs", "trigger", ("ops", "slow"), {}).id for _ in range(3)]
    depths, queued, succeeded = [], [], []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        samples = scrape(server)
        depths.append(value(samples, "sadeem_queue_depth"))
        queued.append(value(samples, "sadeem_runs", state="queued", job_type="sql"))
        succeeded.append(value(samples, "sadeem_runs", state="succeeded", job_type="sql"))
        if succeeded[-1] >= done_before + 3:
            break
        time.sleep(0.3)
    states = [remote.call("runs", "get", (i,), {}).state for i in ids]
    assert states == ["succeeded"] * 3, states
    # The queue held runs waiting for the one slot, then drained; the runs went from
    # queued to succeeded, all seen by successive scrapes.
    assert max(depths) >= 1 and depths[-1] == 0, depths
    assert max(queued) >= 1 and queued[-1] == 0, queued
    assert succeeded[0] < done_before + 3 <= succeeded[-1], succeeded
    assert len(set(succeeded)) >= 2, succeeded  # it moved while we looked

    samples = scrape(server)
    # Every run was claimed after a wait in the queue (the 2nd and 3rd waited seconds for
    # the slot), and ran for a while: the histograms saw all three.
    assert value(samples, "sadeem_run_claim_lag_seconds_count", job_type="sql") >= 3
    slow_waits = value(samples, "sadeem_run_claim_lag_seconds_sum", job_type="sql")
    assert slow_waits > 0.5, slow_waits
    assert (
        value(samples, "sadeem_run_duration_seconds_count", job_type="sql", state="succeeded") >= 3
    )
    assert value(samples, "sadeem_run_duration_seconds_sum", job_type="sql", state="succeeded") > 1
    # A scrape does not count a run twice.
    again = scrape(server)
    assert value(again, "sadeem_run_claim_lag_seconds_count", job_type="sql") == value(
        samples, "sadeem_run_claim_lag_seconds_count", job_type="sql"
    )


def test_schedule_lag_is_observed_for_scheduled_runs(server):
    done = _sadeem(server, "workspace", "create", "sched")
    assert done.returncode in (0, 5), done.stderr
    done = _sadeem(server, "job", "create", "-w", "sched", "tick", "--type", "sql",
                   "--sql", "SELECT 1 AS n", "--cron", "*/2 * * * * *")  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        deadline = time.monotonic() + 60
        count = 0.0
        while time.monotonic() < deadline:
            count = value(scrape(server), "sadeem_run_schedule_lag_seconds_count", job_type="sql")
            if count >= 1:
                break
            time.sleep(0.5)
        assert count >= 1
    finally:
        _sadeem(server, "job", "pause", "-w", "sched", "tick")


def test_sql_queries_and_their_durations(server, remote):
    done = _sadeem(server, "workspace", "create", "sqlops")
    assert done.returncode in (0, 5), done.stderr
    base = scrape(server)
    for sql in ("SELECT 1 AS n", "SELECT * FROM range(100000) t(i)", "SELECT * FROM no_such_table"):
        _sadeem(server, "sql", "-w", "sqlops", "-e", sql)
    samples = scrape(server)
    for outcome, n in (("succeeded", 2), ("failed", 1)):
        grown = value(samples, "sadeem_sql_query_seconds_count", outcome=outcome) - value(
            base, "sadeem_sql_query_seconds_count", outcome=outcome
        )
        assert grown == n, (outcome, grown)
        assert value(samples, "sadeem_sql_queries_total", outcome=outcome) >= n
    assert value(samples, "sadeem_sql_query_seconds_sum", outcome="succeeded") > 0


def test_active_sessions_count_connections_and_requests_in_flight(server, remote):
    """A long statement on the socket is a request in flight and an open connection."""
    from engine.context import Actor
    from engine.errors import SadeemError

    done = _sadeem(server, "workspace", "create", "sess")
    assert done.returncode in (0, 5), done.stderr
    idle = scrape(server)
    assert value(idle, "sadeem_api_requests_in_flight", door="socket") == 0
    from engine.client import RemoteQuery

    remote_query = RemoteQuery(
        remote, (Actor("x", "socket"), "sess", "SELECT count(*) FROM range(1000000000000) a"), {}
    )
    failure: list[BaseException] = []

    def run() -> None:
        try:
            remote_query.fetch()
        except SadeemError:
            pass  # cancelled below
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    busy: dict = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = scrape(server)
        if value(busy, "sadeem_api_requests_in_flight", door="socket") >= 1:
            break
        time.sleep(0.2)
    remote_query.cancel()
    worker.join(30)
    assert not failure, failure
    assert value(busy, "sadeem_api_requests_in_flight", door="socket") >= 1
    assert value(busy, "sadeem_api_connections", door="socket") >= 1
    # The scrape itself is an HTTP request and connection.
    assert value(busy, "sadeem_api_connections", door="http") >= 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = scrape(server)
        if value(after, "sadeem_api_requests_in_flight", door="socket") == 0:
            break
        time.sleep(0.2)
    assert value(after, "sadeem_api_requests_in_flight", door="socket") == 0


def test_backend_health_by_kind_and_result_without_hosts_or_secrets(server):
    done = _sadeem(
        server, "connection", "create", "warehouse_pg", "--type", "postgres",
        "--set", f"host={HOST}", "--set", "database=test", "--set", "user=ops",
        "--set", "timeout_s=3", "--secret-stdin", "password", stdin=SECRET + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tested = _sadeem(server, "connection", "test", "warehouse_pg", "--json")
    assert tested.returncode != 0 or not json.loads(tested.stdout).get("ok", True)
    text = httpx.get(f"{server.http}/metrics", timeout=30).text
    assert SECRET not in text and HOST not in text and "warehouse_pg" not in text
    samples = scrape(server)
    # The embedded backends are probed by the scrape; the tested one is as last tested.
    assert value(samples, "sadeem_backend_health", kind="duckdb", result="ok") >= 1
    failed_pg = total(samples, "sadeem_backend_health", kind="postgres") - value(
        samples, "sadeem_backend_health", kind="postgres", result="ok"
    )
    assert failed_pg == 1
    assert total(samples, "sadeem_backend_health_checks_total", kind="postgres") >= 1


def test_healthz_fails_when_a_loop_is_stuck_not_only_stopped(services, monkeypatch):
    """A loop whose thread is alive but blocked (a claim or a lease update that never
    returns) is stuck: /healthz says which one, and is healthy again once it goes round."""
    from starlette.testclient import TestClient

    import engine.api.ops
    from engine.api.server import Api
    from engine.runner.engine import Engine

    monkeypatch.setattr(engine.api.ops, "STALE_MIN_S", 0.5)
    eng = Engine(services, schedule=True, poll_interval=0.05)
    eng.heartbeat_s = 0.1
    hang_dispatch, hang_lease = threading.Event(), threading.Event()
    release = threading.Event()
    tick, lease_tick = eng.dispatcher.tick, eng._lease_tick

    def stuck_tick():  # type: ignore[no-untyped-def]
        if hang_dispatch.is_set():
            release.wait(30)
        return tick()

    def stuck_lease_tick():  # type: ignore[no-untyped-def]
        if hang_lease.is_set():
            release.wait(30)
        return lease_tick()

    monkeypatch.setattr(eng.dispatcher, "tick", stuck_tick)
    monkeypatch.setattr(eng, "_lease_tick", stuck_lease_tick)
    client = TestClient(Api(services, eng).app())

    def until(status: int) -> dict:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = client.get("/healthz")
            if got.status_code == status:
                return got.json()
            time.sleep(0.05)
        raise AssertionError(f"/healthz never answered {status}: {got.json()}")

    eng.start()
    try:
        until(200)
        hang_dispatch.set()  # the dispatch loop blocks inside a claim
        body = until(503)
        assert body["stuck"] == ["dispatch"]
        assert all(t.is_alive() for t in eng._threads)  # stuck, not stopped
        hang_dispatch.clear()
        release.set()
        until(200)
        release.clear()
        hang_lease.set()  # the scheduler's lease tick blocks inside the heartbeat loop
        body = until(503)
        assert body["stuck"] == ["heartbeat"]
        hang_lease.clear()
        release.set()
        until(200)
    finally:
        release.set()
        eng.stop(grace_s=1)
