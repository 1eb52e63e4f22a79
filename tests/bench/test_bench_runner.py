"""Benchmarks of the runner on PostgreSQL.

Run: python -m pytest tests/bench/test_bench_runner.py -m bench -s

1. schedule-due -> run `running` latency at 50 fires per second (50 jobs firing every
   second), p50 and p99.
2. The runs-list query over 1,000,000 runs of history, one page of 50 with filters;
   target <= 50 ms per page.
"""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import select, text

from engine.app import open_engine
from engine.context import Actor
from engine.models import Job, JobVersion, Run, Workspace
from engine.runner.engine import Engine
from engine.settings import Settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.bench
def test_fire_to_running_latency(postgres_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        heartbeat_seconds=0.5,
        max_concurrent_runs=16,
        workspace_max_concurrent_runs=64,
    )
    svc = open_engine(settings, migrate=True)
    admin = Actor("admin", "bench")
    svc.users.register(admin)
    svc.workspaces.create(admin, "w")
    svc.provisioning.apply(admin, "w")
    for i in range(50):
        svc.jobs.create(
            admin, "w", f"j{i}", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=10
        )
        svc.jobs.set_schedule(admin, "w", f"j{i}", "* * * * * *", catchup="all", overlap="queue")
    engine = Engine(svc, poll_interval=0.01).start()
    time.sleep(12)
    engine.stop(grace_s=5)
    with svc.db.session() as s:
        rows = s.execute(
            select(Run.scheduled_for, Run.queued_at, Run.started_at).where(
                Run.started_at.is_not(None), Run.scheduled_for.is_not(None)
            )
        ).all()
    lat = [(started - due).total_seconds() * 1000 for due, _, started in rows]
    fire = [(queued - due).total_seconds() * 1000 for due, queued, _ in rows]
    claim = [(started - queued).total_seconds() * 1000 for _, queued, started in rows]
    print(
        f"\nfire -> running at 50 fires/s over {len(lat)} runs: "
        f"p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms "
        f"(due -> queued p50 {percentile(fire, 0.5):.0f} ms, queued -> running p50 "
        f"{percentile(claim, 0.5):.0f} ms)"
    )
    assert len(lat) >= 400


@pytest.mark.bench
def test_runs_list_on_a_million_runs(postgres_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    svc = open_engine(settings, migrate=True)
    admin = Actor("admin", "bench")
    svc.users.register(admin)
    svc.workspaces.create(admin, "w")
    for i in range(20):
        svc.jobs.create(admin, "w", f"j{i}", "sql", {"sql": "SELECT 1 AS x"})
    with svc.db.session() as s:
        ws = s.scalar(select(Workspace.id))
        jobs = list(s.execute(select(Job.id, JobVersion.id).join(JobVersion)))
    started = time.perf_counter()
    with svc.db.engine.begin() as conn:
        values = ",".join(f"({j},{v})" for j, v in jobs)
        conn.execute(
            text(f"""
            INSERT INTO runs (job_id, job_version_id, workspace_id, trigger, state, logical_date,
                              parameters, attempt, queued_at, started_at, finished_at, links,
                              result, created_by)
            SELECT j.job_id, j.version_id, {ws}, 'schedule',
                   (ARRAY['succeeded','succeeded','succeeded','failed','cancelled'])[1 + g % 5],
                   '2026-11-24', '{{}}', 1, now() - (g || ' seconds')::interval,
                   now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval,
                   '{{}}', '{{}}', 'bench'
            FROM generate_series(1, 1000000) g
            JOIN (VALUES {values}) AS j(job_id, version_id) ON (g % {len(jobs)}) = 0 OR true
            WHERE (g % {len(jobs)}) = (j.job_id % {len(jobs)})
        """)
        )
        conn.execute(text("ANALYZE runs"))
    with svc.db.session() as s:
        total = s.scalar(text("SELECT count(*) FROM runs"))
    print(f"\nloaded {total} runs in {time.perf_counter() - started:.1f}s")
    cases = {
        "workspace": {},
        "state=failed": {"state": "failed"},
        "job": {"job": "j7"},
        "job+state": {"job": "j7", "state": "cancelled"},
    }
    for label, filters in cases.items():
        times = []
        before = None
        for _ in range(20):  # 20 consecutive pages
            t0 = time.perf_counter()
            page = svc.runs.list(admin, "w", before_id=before, limit=50, **filters)
            times.append((time.perf_counter() - t0) * 1000)
            if not page:
                break
            before = page[-1].id
        print(
            f"runs list ({label}): median {statistics.median(times):.1f} ms, "
            f"max {max(times):.1f} ms per page of 50 (target <= 50 ms)"
        )
    assert total >= 1_000_000
