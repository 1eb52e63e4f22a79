"""The role matrix for job and run actions (see tests/engine/test_role_matrix.py)."""

from __future__ import annotations

import pytest

from tests.engine.test_role_matrix import WS, Case, check_case

SQL = {"sql": "SELECT 1 AS x"}


def _job(svc, admin, uniq):
    svc.jobs.create(admin, WS, f"j{uniq}", "sql", SQL)
    return f"j{uniq}"


def _scheduled(svc, admin, uniq):
    name = _job(svc, admin, uniq)
    svc.jobs.set_schedule(admin, WS, name, "0 6 * * *")
    return name


def _run(state: str):
    def prepare(svc, admin, uniq):
        run = svc.runs.trigger(admin, WS, _job(svc, admin, uniq))
        if state != "queued":
            svc.queue.claim("test-engine", 10, 100)
            svc.queue.finish(run.id, state, error="x")
        return run.id

    return prepare


CASES = [
    Case("job.create", lambda s, a, u: s.jobs.create(a, WS, f"n{u}", "sql", SQL), lambda *x: x[2]),
    Case("job.show", lambda s, a, name: s.jobs.get(a, WS, name), _job),
    Case(
        "job.edit",
        lambda s, a, name: s.jobs.edit(a, WS, name, definition={"sql": "SELECT 2"}),
        _job,
    ),
    Case("job.pause", lambda s, a, name: s.jobs.pause(a, WS, name), _scheduled),
    Case("job.run", lambda s, a, name: s.runs.trigger(a, WS, name), _job),
    Case("run.show", lambda s, a, rid: s.runs.get(a, rid), _run("queued")),
    Case("run.cancel", lambda s, a, rid: s.runs.cancel(a, rid), _run("queued")),
    Case("run.retry", lambda s, a, rid: s.runs.retry(a, rid), _run("failed")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_runner_role_matrix(services, admin, actors, case):
    assert check_case(services, admin, actors, case) == []
