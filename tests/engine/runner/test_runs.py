"""Runs through a real engine: DuckDB and Trino (fake) SQL jobs, upstream chains, logs,
retries, cancel, timeouts, schedules, leases and claims."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict
from engine.models import Run
from tests.engine.runner.conftest import until, wait_for
from tests.fakes.trino_server import FakeTrino

SLOW = (
    "SELECT sum(a.range * b.range) FROM range(3000000000) a, range(1000) b "
    "WHERE a.range % 1000 = b.range"
)


def test_upstream_chain_logs_and_params(lake, admin, engines):
    lake.jobs.create(
        admin,
        "w",
        "bronze",
        "sql",
        {
            "sql": "CREATE OR REPLACE TABLE {{ workspace }}_bronze.t AS "
            "SELECT range AS x, '{{ ds }}' AS ds FROM range({{ params.n }})",
            "params": {"n": 10},
        },
    )
    lake.jobs.create(
        admin,
        "w",
        "silver",
        "sql",
        {"sql": "CREATE OR REPLACE TABLE w_silver.t AS SELECT count(*) AS n FROM w_bronze.t"},
        upstream=["bronze"],
    )
    run = lake.runs.trigger(admin, "w", "bronze", parameters={"n": 42}, logical_date="2026-11-20")
    engines()
    assert wait_for(lake, admin, run.id).state == "succeeded"
    until(lambda: len(lake.runs.list(admin, "w", job="silver")) == 1)
    child = lake.runs.list(admin, "w", job="silver")[0]
    assert (child.trigger, child.logical_date) == ("upstream", "2026-11-20")
    assert wait_for(lake, admin, child.id).state == "succeeded"
    rows = lake.sql.execute(admin, "w", "SELECT n FROM w_silver.t").fetch()
    assert rows.column("n").to_pylist() == [42]
    ds = lake.sql.execute(admin, "w", "SELECT DISTINCT ds FROM w_bronze.t").fetch()
    assert ds.column("ds").to_pylist() == ["2026-11-20"]
    text = "".join(c.text for c in lake.runs.logs(admin, run.id))
    assert "[1/1] CREATE OR REPLACE TABLE w_bronze.t" in text and "finished: succeeded" in text
    done = lake.runs.get(admin, run.id)
    assert done.external_id and done.started_at and done.finished_at
    assert done.result["rows"] == 1


def test_failure_retries_with_backoff_then_manual_retry(lake, admin, engines):
    lake.jobs.create(
        admin,
        "w",
        "flaky",
        "sql",
        {"sql": "SELECT * FROM w_bronze.missing"},
        max_retries=1,
        retry_backoff_seconds=1,
    )
    run = lake.runs.trigger(admin, "w", "flaky")
    engine = engines()
    failed = wait_for(lake, admin, run.id)
    assert failed.state == "failed" and "missing" in failed.error
    until(lambda: len(lake.runs.list(admin, "w")) == 2)
    second = lake.runs.list(admin, "w")[0]
    assert (second.trigger, second.attempt, second.retry_of) == ("retry", 2, run.id)
    assert wait_for(lake, admin, second.id).state == "failed"
    time.sleep(1.5)
    assert len(lake.runs.list(admin, "w")) == 2  # retries exhausted: no third attempt
    # No engine from here: the manual retry stays queued (a running engine fails it within
    # milliseconds, and a retry of an ended run is allowed).
    engine.stop(grace_s=2)
    manual = lake.runs.retry(admin, second.id)
    assert (manual.attempt, manual.retry_of) == (3, second.id)
    with pytest.raises(Conflict):
        lake.runs.retry(admin, manual.id)  # still queued


def test_cancel_queued_and_running_and_timeout(lake, admin, engines):
    lake.jobs.create(admin, "w", "slow", "sql", {"sql": SLOW}, max_concurrent_runs=2)
    lake.jobs.create(admin, "w", "capped", "sql", {"sql": SLOW}, timeout_seconds=1)
    queued = lake.runs.trigger(admin, "w", "slow")
    assert lake.runs.cancel(admin, queued.id).state == "cancelled"
    running = lake.runs.trigger(admin, "w", "slow")
    capped = lake.runs.trigger(admin, "w", "capped")
    engines()
    wait_for(lake, admin, running.id, states=("running",))
    lake.runs.cancel(admin, running.id)
    stopped = wait_for(lake, admin, running.id, timeout=30)
    assert stopped.state == "cancelled" and stopped.duration_s < 20
    timed = wait_for(lake, admin, capped.id, timeout=30)
    assert timed.state == "timed_out" and "timed out" in timed.error


def test_trino_job_saves_query_id_and_cancel_reaches_server(lake, admin, engines):
    fake = FakeTrino().start()
    try:
        lake.connections.create(admin, "trino", "trino", {"host": "127.0.0.1", "port": fake.port})
        lake.jobs.create(
            admin, "w", "report", "sql", {"sql": "SELECT * FROM range(2500)"}, connection="trino"
        )
        lake.jobs.create(admin, "w", "long", "sql", {"sql": "SELECT sleep(60)"}, connection="trino")
        ok = lake.runs.trigger(admin, "w", "report")
        long = lake.runs.trigger(admin, "w", "long")
        engines()
        done = wait_for(lake, admin, ok.id)
        assert done.state == "succeeded" and done.result["rows"] == 2500
        assert done.external_id in fake.queries
        assert done.links["trino_ui"].endswith(done.external_id)
        headers = {k.lower(): v for k, v in fake.query(done.external_id).headers.items()}
        assert headers["x-trino-client-tags"] == "batch"
        until(lambda: lake.runs.get(admin, long.id).external_id is not None)
        lake.runs.cancel(admin, long.id)
        assert wait_for(lake, admin, long.id).state == "cancelled"
        assert lake.runs.get(admin, long.id).external_id in fake.deletes
    finally:
        fake.stop()


def test_schedule_fires_with_overlap_skip(lake, admin, engines):
    lake.jobs.create(admin, "w", "tick", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=5)
    lake.jobs.set_schedule(admin, "w", "tick", "* * * * * *", catchup="all", overlap="queue")
    lake.jobs.create(admin, "w", "busy", "sql", {"sql": SLOW})
    lake.jobs.set_schedule(admin, "w", "busy", "* * * * * *", overlap="skip")
    engine = engines()
    until(lambda: len(lake.runs.list(admin, "w", job="tick", state="succeeded")) >= 3)
    until(lambda: len(lake.runs.list(admin, "w", job="busy", state="skipped")) >= 1)
    assert engine.holds_lease
    for run in lake.runs.list(admin, "w", job="busy", state="running"):
        lake.runs.cancel(admin, run.id)
    with lake.db.session() as s:
        dupes = s.execute(
            select(Run.job_id, Run.scheduled_for, func.count())
            .where(Run.scheduled_for.is_not(None))
            .group_by(Run.job_id, Run.scheduled_for)
            .having(func.count() > 1)
        ).all()
    assert dupes == []


def test_lease_is_exclusive_and_taken_over_after_expiry(services):
    state = services.engine_state
    assert state.acquire_lease("scheduler", "e1", 0.5)
    assert not state.acquire_lease("scheduler", "e2", 0.5)
    assert state.acquire_lease("scheduler", "e1", 0.5)  # renewal
    time.sleep(0.7)
    assert state.acquire_lease("scheduler", "e2", 5)
    assert not state.acquire_lease("scheduler", "e1", 5)
    state.release_lease("scheduler", "e2")
    assert state.acquire_lease("scheduler", "e1", 5)
