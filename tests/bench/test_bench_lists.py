"""The lists an operator pages through, at scale, on PostgreSQL: every filter the runs and
audit lists offer over 1,000,000 rows, and the jobs list of a workspace with 2,000 jobs.

Run: python -m pytest tests/bench/test_bench_lists.py -m bench -s

Target (issue 17): <= 20 ms per page under every filter. The anchor, printed beside each
figure, is the same page read by primary key alone (`WHERE id < x ORDER BY id DESC LIMIT
n`): what a page costs when no filter has to be searched. Each case also prints the plan
PostgreSQL chose (its first line), so an index a change loses shows up here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine.context import Actor
from engine.models import Job, JobVersion, Workspace, utcnow
from engine.settings import Settings
from engine.wiring import open_services

ROWS = 1_000_000


def _pages(fetch: Callable[[int | None], list], pages: int = 10) -> list[float]:
    """Milliseconds per page for `pages` consecutive pages (fetch(before_id) -> rows)."""
    times, before = [], None
    for _ in range(pages):
        t0 = time.perf_counter()
        page = fetch(before)
        times.append((time.perf_counter() - t0) * 1000)
        if not page:
            break
        before = page[-1].id
    return times


def _report(label: str, times: list[float], anchor: list[float], plan: str) -> None:
    print(
        f"{label:<34} median {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms"
        f"   (pk-only page: median {statistics.median(anchor):.1f} ms)   plan: {plan}"
    )


def _plan(conn, sql: str) -> str:
    rows = conn.execute(text("EXPLAIN " + sql)).fetchall()
    return " / ".join(r[0].strip() for r in rows[:3] if "Index" in r[0] or "Scan" in r[0])[:110]


def _anchor(svc, table: str, limit: int) -> list[float]:
    with svc.db.engine.connect() as conn:
        top = conn.execute(text(f"SELECT max(id) FROM {table}")).scalar()

        def fetch(before):
            rows = conn.execute(
                text(f"SELECT * FROM {table} WHERE id < :b ORDER BY id DESC LIMIT {limit}"),
                {"b": before or top + 1},
            ).fetchall()
            return rows

        return _pages(fetch)


@pytest.fixture
def site(postgres_url, tmp_path):
    svc = open_services(Settings(data_dir=tmp_path, database_url=postgres_url), migrate=True)
    admin = Actor("admin", "bench")
    svc.users.register(admin)
    yield svc, admin
    svc.close()


@pytest.mark.bench
def test_runs_list_under_every_filter(site):
    svc, admin = site
    svc.workspaces.create(admin, "w")
    for i in range(20):
        svc.jobs.create(admin, "w", f"j{i}", "sql", {"sql": "SELECT 1 AS x"})
    with svc.db.session() as s:
        ws = s.scalar(select(Workspace.id))
        jobs = list(s.execute(select(Job.id, JobVersion.id).join(JobVersion)))
    values = ",".join(f"({i},{j},{v})" for i, (j, v) in enumerate(jobs))
    t0 = time.perf_counter()
    with svc.db.engine.begin() as conn:
        # Job g % 20, state (g / 20) % 50: every job has every state; `failed` is 2%.
        conn.execute(
            text(f"""
            INSERT INTO runs (job_id, job_version_id, workspace_id, trigger, state, logical_date,
                              parameters, attempt, queued_at, started_at, finished_at, links,
                              result, created_by)
            SELECT j.job_id, j.version_id, {ws}, 'schedule',
                   CASE WHEN (g / 20) % 50 = 0 THEN 'failed'
                        WHEN (g / 20) % 50 = 1 THEN 'cancelled' ELSE 'succeeded' END,
                   '2026-11-24', '{{}}', 1, now() - ((2000000 - g) || ' seconds')::interval,
                   now(), now(), '{{}}', '{{}}', 'bench'
            FROM generate_series(1, {ROWS}) g JOIN (VALUES {values}) AS j(i, job_id, version_id)
              ON g % 20 = j.i
        """)
        )
        conn.execute(text("ANALYZE runs"))
    print(f"\nloaded {ROWS} runs in {time.perf_counter() - t0:.1f}s")
    anchor = _anchor(svc, "runs", 50)
    since = utcnow() - timedelta(days=3)
    cases = {
        "runs: workspace": {},
        "runs: state=failed": {"state": "failed"},
        "runs: job": {"job": "j7"},
        "runs: job + state=cancelled": {"job": "j7", "state": "cancelled"},
        "runs: since 3 days": {"since": since},
        "runs: job + state + since": {"job": "j7", "state": "failed", "since": since},
    }
    with svc.db.engine.connect() as conn:
        for label, filters in cases.items():
            times = _pages(lambda b, f=filters: svc.runs.list(admin, "w", before_id=b, **f))
            shown = {
                "state": f"state = '{filters.get('state')}'",
                "job": f"job_id = {jobs[7][0]}",
                "since": f"queued_at >= '{since.isoformat()}'",
            }
            where = " AND ".join(shown[k] for k in filters)
            sql = f"SELECT * FROM runs WHERE workspace_id = {ws}"
            sql += f" AND {where}" if where else ""
            _report(label, times, anchor, _plan(conn, sql + " ORDER BY id DESC LIMIT 50"))


@pytest.mark.bench
def test_audit_list_under_every_filter(site):
    svc, admin = site
    svc.workspaces.create(admin, "w")
    svc.users.create(admin, "olga")
    svc.workspaces.add_member(admin, "w", "olga", "owner")
    t0 = time.perf_counter()
    with svc.db.engine.begin() as conn:
        # 100 users, 50 workspaces, 20 actions in 5 families; `w` gets 2% of the trail.
        conn.execute(
            text(f"""
            INSERT INTO audit_events (at, username, source, action, target_type, target,
                                      workspace, details)
            SELECT now() - (({ROWS} - g) || ' seconds')::interval, 'user' || (g % 100), 'cli',
                   (ARRAY['job','run','sql','workspace','connection'])[1 + g % 5] || '.'
                     || (ARRAY['create','update','delete','show'])[1 + (g / 5) % 4],
                   'job', 't' || g, CASE WHEN g % 50 = 0 THEN 'w' ELSE 'ws' || (g % 50) END,
                   '{{}}'
            FROM generate_series(1, {ROWS}) g
        """)
        )
        conn.execute(text("ANALYZE audit_events"))
    print(f"\nloaded {ROWS} audit events in {time.perf_counter() - t0:.1f}s")
    anchor = _anchor(svc, "audit_events", 200)
    olga = Actor("olga", "bench")
    now = utcnow()
    cases = {
        "audit: everything (admin)": (admin, {}),
        "audit: user": (admin, {"user": "user7"}),
        "audit: workspace": (admin, {"workspace": "w"}),
        "audit: action": (admin, {"action": "run.delete"}),
        "audit: action family": (admin, {"action": "sql."}),
        "audit: a day a week ago": (
            admin,
            {"since": now - timedelta(days=8), "until": now - timedelta(days=7)},
        ),
        "audit: user + action": (admin, {"user": "user7", "action": "job.create"}),
        "audit: an owner's own view": (olga, {}),
    }
    for label, (actor, filters) in cases.items():
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            svc.audit.list(actor, **filters)
            times.append((time.perf_counter() - t0) * 1000)
        _report(label, times, anchor, "")


@pytest.mark.bench
def test_jobs_list_of_two_thousand_jobs(site):
    svc, admin = site
    svc.workspaces.create(admin, "w")
    t0 = time.perf_counter()
    for i in range(2000):
        svc.jobs.create(admin, "w", f"job{i:04}", "sql", {"sql": "SELECT 1 AS x"})
    print(f"\ncreated 2000 jobs in {time.perf_counter() - t0:.1f}s")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        listed = svc.jobs.list(admin, "w")
        times.append((time.perf_counter() - t0) * 1000)
    assert len(listed) == 2000
    print(f"jobs list, 2000 jobs: median {statistics.median(times):.1f} ms, max {max(times):.1f}")
