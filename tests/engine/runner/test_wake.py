"""The dispatcher claims when there is work, not at its next poll: a queued run and a
freed slot wake it (in-process; on PostgreSQL also from another process, LISTEN/NOTIFY).

Every engine here polls once an hour: a run that starts at all was started by a wake-up.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.context import Actor
from engine.runner.engine import Engine
from engine.settings import Settings
from engine.wiring import open_services
from tests.engine.runner.conftest import wait_for

NO_POLL = 3600.0
ADMIN = Actor("admin", "test")


@pytest.fixture
def open_site(db_url, tmp_path) -> Iterator:
    """open(**settings) -> services on the test's database; all closed after the test."""
    opened = []

    def open_(**settings):
        svc = open_services(
            Settings(data_dir=tmp_path / "data", database_url=db_url, **settings), migrate=True
        )
        opened.append(svc)
        return svc

    yield open_
    for svc in opened:
        svc.close()


def _lake(svc) -> None:
    svc.users.register(ADMIN)
    svc.workspaces.create(ADMIN, "w")
    svc.provisioning.apply(ADMIN, "w")
    svc.jobs.create(ADMIN, "w", "q", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=5)


def test_a_run_queued_while_the_dispatcher_idles_starts_without_a_poll(open_site):
    svc = open_site()
    _lake(svc)
    engine = Engine(svc, schedule=False, poll_interval=NO_POLL).start()
    try:
        run = svc.runs.trigger(ADMIN, "w", "q")
        assert wait_for(svc, ADMIN, run.id).state == "succeeded"
    finally:
        engine.stop(grace_s=5)


def test_a_freed_slot_starts_the_next_queued_run_without_a_poll(open_site):
    svc = open_site(max_concurrent_runs=1)
    _lake(svc)
    ids = [svc.runs.trigger(ADMIN, "w", "q").id for _ in range(3)]
    engine = Engine(svc, schedule=False, poll_interval=NO_POLL).start()
    try:
        # One worker: the second and third run start only when the one before ends.
        for run_id in ids:
            assert wait_for(svc, ADMIN, run_id).state == "succeeded"
    finally:
        engine.stop(grace_s=5)


def test_a_run_queued_by_another_process_wakes_the_engine(open_site, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("across processes the wake-up is PostgreSQL's NOTIFY; SQLite polls")
    svc = open_site()
    _lake(svc)
    engine = Engine(svc, schedule=False, poll_interval=NO_POLL).start()
    try:
        # Another process: its own services, engine pool and in-process wake-up.
        other = open_site()
        assert other.wake is not svc.wake
        # The engine listens from its first wait on; a run queued before that is
        # claimed by the first tick anyway (the listener wakes it once when it starts).
        run = other.runs.trigger(ADMIN, "w", "q")
        assert wait_for(svc, ADMIN, run.id).state == "succeeded"
    finally:
        engine.stop(grace_s=5)


def test_the_last_log_lines_are_written_with_the_outcome(open_site):
    svc = open_site()
    _lake(svc)
    engine = Engine(svc, schedule=False, poll_interval=NO_POLL).start()
    try:
        run = svc.runs.trigger(ADMIN, "w", "q")
        assert wait_for(svc, ADMIN, run.id).state == "succeeded"
    finally:
        engine.stop(grace_s=5)
    text = "".join(c.text for c in svc.runs.logs(ADMIN, run.id))
    assert "finished: succeeded" in text
    assert "done: 1 row(s)" in text
