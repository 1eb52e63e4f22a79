"""A failed or timed-out run is retried up to the job's retries with exponential backoff,
capped (README "Jobs, schedules and runs"): each retry waits twice as long as the one
before, never longer than the cap (the job's `retry_backoff_max_seconds`, 1 hour unless
set), and no retry follows the last one allowed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import Run


def delays_of_failing(lake, admin, job: str, failures: int, state: str = "failed") -> list[float]:
    """Fail the job's run, then each retry the policy queues; the wait before each retry."""
    run_id = lake.runs.trigger(admin, "w", job).id
    delays = []
    for _ in range(failures):
        assert lake.queue.finish(run_id, state, error="boom")
        with lake.db.session() as s:
            retry = s.scalar(select(Run).where(Run.retry_of_id == run_id))
            if retry is None:
                break
            delays.append(round((retry.not_before - retry.queued_at).total_seconds()))
            run_id = retry.id
    return delays


@pytest.mark.parametrize("state", ["failed", "timed_out"])
def test_backoff_doubles_then_stops_at_the_cap(lake, admin, state):
    lake.jobs.create(
        admin,
        "w",
        "flaky",
        "sql",
        {"sql": "SELECT 1 AS x"},
        max_retries=5,
        retry_backoff_seconds=10,
        retry_backoff_max_seconds=35,
    )
    # 10, 20, then 40 and 80 and 160 capped at 35; the sixth failure is not retried.
    assert delays_of_failing(lake, admin, "flaky", 7, state) == [10, 20, 35, 35, 35]


def test_the_default_cap_is_one_hour(lake, admin):
    lake.jobs.create(
        admin,
        "w",
        "slow_flaky",
        "sql",
        {"sql": "SELECT 1 AS x"},
        max_retries=4,
        retry_backoff_seconds=1000,
    )
    assert delays_of_failing(lake, admin, "slow_flaky", 5) == [1000, 2000, 3600, 3600]
