"""After downtime the catch-up policy decides what fires (README "Schedules"): `none`
nothing, `latest` only the latest missed time, `all` every missed time within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from engine.models import Job, Schedule
from engine.runner.scheduler import Scheduler

HOURLY = "0 * * * *"


def missed_since(since: datetime, now: datetime) -> list[datetime]:
    """Every full hour h with since < h <= now: what an hourly schedule missed."""
    h = since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    out = []
    while h <= now:
        out.append(h)
        h += timedelta(hours=1)
    return out


def down_for(lake, admin, job: str, hours: float, **schedule) -> tuple[int, list[datetime]]:
    """An hourly job whose engine was away `hours`: (schedule id, the times it missed)."""
    lake.jobs.create(admin, "w", job, "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=50)
    lake.jobs.set_schedule(admin, "w", job, HOURLY, overlap="queue", **schedule)
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    with lake.db.session() as s:
        job_id = s.query(Job.id).filter(Job.name == job).scalar()
        s.execute(
            update(Schedule).where(Schedule.job_id == job_id).values(last_scheduled_for=since)
        )
        sid = s.query(Schedule.id).filter(Schedule.job_id == job_id).scalar()
    return sid, missed_since(since, now)


def fired(lake, admin, job: str) -> list[datetime]:
    return sorted(r.scheduled_for for r in lake.runs.list(admin, "w", job=job))


@pytest.mark.parametrize("policy", ["none", "latest", "all"])
def test_catch_up_fires_what_the_policy_keeps(lake, admin, policy):
    sid, missed = down_for(lake, admin, "nightly", 5.5, catchup=policy)
    assert len(missed) >= 5  # the engine really missed several fires
    Scheduler(lake).catch_up(sid)
    expected = {"none": [], "latest": missed[-1:], "all": missed}[policy]
    assert fired(lake, admin, "nightly") == expected
    # Whatever the policy, the missed times are handled: a second catch-up adds nothing.
    Scheduler(lake).catch_up(sid)
    assert fired(lake, admin, "nightly") == expected


def test_catch_up_all_stops_at_the_window(lake, admin):
    sid, missed = down_for(lake, admin, "hourly", 5.5, catchup="all", catchup_window_seconds=9000)
    Scheduler(lake).catch_up(sid)
    window_start = datetime.now(UTC) - timedelta(seconds=9000)
    assert fired(lake, admin, "hourly") == [t for t in missed if t >= window_start]
    assert 2 <= len(fired(lake, admin, "hourly")) < len(missed)
