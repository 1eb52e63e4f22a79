"""Claims honour the global, per-workspace and per-job limits (README "Claims"), on SQLite
and PostgreSQL: `RunService.claim(owner, slots, workspace_limit)` never takes more than
`slots` runs (the engine's free share of `max_concurrent_runs`), more running runs in a
workspace than its limit, or more running runs of a job than its `max_concurrent_runs`."""

from __future__ import annotations


def queue(lake, admin, workspace: str, job: str, runs: int, limit: int = 100) -> list[int]:
    lake.jobs.create(
        admin, workspace, job, "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=limit
    )
    return [lake.runs.trigger(admin, workspace, job).id for _ in range(runs)]


def test_the_job_limit_holds(lake, admin):
    capped = queue(lake, admin, "w", "capped", 4, limit=2)
    free = queue(lake, admin, "w", "free", 1)
    claimed = lake.queue.claim("e1", 10, 100)
    assert sorted(claimed) == sorted([*capped[:2], *free])
    assert lake.queue.claim("e2", 10, 100) == []  # another engine: the job is still full
    lake.runs.cancel(admin, capped[0])  # running -> cancelling still holds its slot
    assert lake.queue.claim("e2", 10, 100) == []
    lake.queue.finish(capped[0], "cancelled")
    assert lake.queue.claim("e2", 10, 100) == [capped[2]]


def test_the_workspace_limit_holds(lake, admin):
    lake.workspaces.create(admin, "other")
    runs = queue(lake, admin, "w", "a", 3) + queue(lake, admin, "w", "b", 3)
    elsewhere = queue(lake, admin, "other", "c", 1)
    assert lake.queue.claim("e1", 10, 4) == [*runs[:4], *elsewhere]
    assert lake.queue.claim("e2", 10, 4) == []  # w is full, whichever engine asks
    lake.queue.finish(runs[0], "succeeded")
    assert lake.queue.claim("e2", 10, 4) == [runs[4]]


def test_the_global_limit_holds(lake, admin):
    runs = queue(lake, admin, "w", "a", 3) + queue(lake, admin, "w", "b", 3)
    assert lake.queue.claim("e1", 2, 100) == runs[:2]
    assert lake.queue.claim("e1", 3, 100) == runs[2:5]
    assert lake.queue.claim("e1", 0, 100) == []
