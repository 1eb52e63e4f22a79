"""Two engines on one PostgreSQL: 1,000+ scheduled fires across a lease takeover with zero
duplicates and zero missed fires, and queued runs claimed by both with none run twice."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from engine.context import Actor
from engine.models import Run, RunLogChunk
from engine.runner.engine import Engine
from engine.settings import Settings
from engine.wiring import open_services
from tests.engine.runner.conftest import until

JOBS = 100


def setup(url, tmp_path, **overrides):
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        heartbeat_seconds=0.2,
        lease_seconds=1.5,
        **overrides,
    )
    svc = open_services(settings, migrate=True)
    admin = Actor("admin", "test")
    svc.users.register(admin)
    svc.workspaces.create(admin, "w")
    svc.provisioning.apply(admin, "w")
    return settings, svc, admin


def test_scheduled_fires_survive_a_takeover(postgres_url, tmp_path):
    settings, svc, admin = setup(postgres_url, tmp_path)
    for i in range(JOBS):
        svc.jobs.create(
            admin, "w", f"tick_{i}", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=1000
        )
        svc.jobs.set_schedule(
            admin, "w", f"tick_{i}", "* * * * * *", catchup="all", overlap="queue"
        )
    a = Engine(open_services(settings), engine_id="engine-a", dispatch=False).start()
    b = Engine(open_services(settings), engine_id="engine-b", dispatch=False).start()
    try:
        until(lambda: a.holds_lease or b.holds_lease, timeout=10)
        time.sleep(5)
        holder, other = (a, b) if a.holds_lease else (b, a)
        # The holder dies without a word: it stops renewing, its lease expires, the other
        # engine takes over and catches up what fired meanwhile.
        holder._stop.set()
        holder.scheduler.stop()
        until(lambda: other.holds_lease, timeout=10)
        time.sleep(6)
    finally:
        for engine in (a, b):
            engine.stop(grace_s=1)
    with svc.db.session() as s:
        rows = s.execute(
            select(Run.job_id, Run.scheduled_for).where(Run.trigger == "schedule")
        ).all()
    per_job: dict[int, list] = {}
    for job_id, when in rows:
        per_job.setdefault(job_id, []).append(when)
    assert len(rows) >= 1000, len(rows)
    assert len(per_job) == JOBS
    for times in per_job.values():
        assert len(times) == len(set(times)), "a fire was inserted twice"
        times.sort()
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(g == timedelta(seconds=1) for g in gaps), "a fire was missed"
    svc.close()


def test_claims_by_two_engines_run_each_once(postgres_url, tmp_path):
    settings, svc, admin = setup(
        postgres_url, tmp_path, max_concurrent_runs=4, workspace_max_concurrent_runs=16
    )
    svc.jobs.create(admin, "w", "quick", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=16)
    ids = [svc.runs.trigger(admin, "w", "quick").id for _ in range(400)]
    a = Engine(
        open_services(settings), engine_id="engine-a", schedule=False, poll_interval=0.02
    ).start()
    b = Engine(
        open_services(settings), engine_id="engine-b", schedule=False, poll_interval=0.02
    ).start()
    try:
        until(
            lambda: svc.runs.list(admin, "w", state="succeeded", limit=1000).__len__() == len(ids),
            timeout=240,
        )
    finally:
        a.stop(grace_s=5)
        b.stop(grace_s=5)
    with svc.db.session() as s:
        starts = s.execute(select(RunLogChunk.run_id, RunLogChunk.text)).all()
        owners = Counter(s.scalars(select(Run.owner)))
        total = s.scalar(select(func.count()).select_from(Run))
    started = Counter(
        rid for rid, text in starts for line in text.splitlines() if "started on" in line
    )
    assert total == len(ids)
    assert set(started) == set(ids) and set(started.values()) == {1}
    assert set(owners) == {"engine-a", "engine-b"}  # both engines took a share
    svc.close()
