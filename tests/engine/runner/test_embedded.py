"""The engine a console embeds (README, "The console"): started only when nobody holds the
scheduler lease, one console at a time, handed to a daemon that asks for the lease, never
to an engine that does not schedule (`engine serve --no-schedule`, `job run --wait`)."""

from __future__ import annotations

import time

import pytest

from engine.runner.embedded import EmbeddedEngine
from engine.runner.engine import Engine
from engine.settings import Settings
from engine.wiring import open_services
from tests.engine.runner.conftest import until


@pytest.fixture
def site(db_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data", database_url=db_url, heartbeat_seconds=0.1, lease_seconds=1
    )
    svc = open_services(settings, migrate=True)
    started: list = []
    yield svc, started
    for thing in started:
        thing.stop(grace_s=1)
    svc.close()


def console(svc, started, allowed=True) -> EmbeddedEngine:
    follower = EmbeddedEngine(svc, every_s=0.05)
    started.append(follower)
    follower.follow(lambda: allowed)
    return follower


def test_two_consoles_never_both_run_an_engine(site):
    svc, started = site
    a, b = console(svc, started), console(svc, started)
    until(lambda: a.engine is not None or b.engine is not None, timeout=10)
    time.sleep(0.5)  # ten checks each
    running = [f for f in (a, b) if f.engine is not None]
    assert len(running) == 1
    assert svc.engine_state.status().lease_holder == running[0].id
    # The one running closes: the other takes over.
    first, other = running[0], b if running[0] is a else a
    first.stop(grace_s=1)
    until(lambda: other.engine is not None and other.engine.holds_lease, timeout=10)


def test_a_daemon_that_asks_gets_the_lease_and_one_that_does_not_schedule_never_does(site):
    svc, started = site
    follower = console(svc, started)
    until(lambda: follower.engine is not None and follower.engine.holds_lease, timeout=10)
    runs_only = Engine(open_services(svc.settings), schedule=False, poll_interval=0.05).start()
    started.append(runs_only)
    time.sleep(0.5)
    assert follower.engine is not None and follower.engine.holds_lease  # no flapping
    daemon = Engine(open_services(svc.settings), poll_interval=0.05).start()
    started.append(daemon)
    until(lambda: daemon.holds_lease, timeout=10)
    until(lambda: follower.engine is None, timeout=10)
    time.sleep(0.5)
    assert follower.engine is None and svc.engine_state.status().lease_holder == daemon.id


def test_a_read_only_console_never_starts_one(site):
    svc, started = site
    follower = console(svc, started, allowed=False)
    time.sleep(0.5)
    assert follower.engine is None
    assert svc.engine_state.status().lease_holder is None


def test_a_console_that_saw_the_lease_free_starts_nothing_if_another_took_it_first(
    site, monkeypatch
):
    """Two consoles that look at the same instant both see no holder; only the one whose
    conditional take succeeds starts an engine (the lease is the mutex, not the look)."""
    svc, started = site
    assert svc.engine_state.acquire_lease("scheduler", "console:other:1:abc", 30)
    monkeypatch.setattr(svc.engine_state, "holder", lambda name: None)  # the look raced
    follower = EmbeddedEngine(svc, every_s=3600)
    started.append(follower)
    follower.follow(lambda: True)
    time.sleep(0.5)
    assert follower.engine is None
    assert svc.engine_state.status().lease_holder == "console:other:1:abc"
