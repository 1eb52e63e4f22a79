"""Runner fixtures: a provisioned workspace and an engine that is always stopped."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from engine.run_states import TERMINAL
from tests.support import every_row


@pytest.fixture
def lake(services, admin):
    services.workspaces.create(admin, "w")
    services.provisioning.apply(admin, "w")
    return services


@pytest.fixture
def engines(services):
    """start() -> a running Engine; every engine started is stopped after the test."""
    from engine.runner.engine import Engine

    started = []

    def start(**kwargs) -> Engine:
        engine = Engine(services, poll_interval=0.05, **kwargs).start()
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop(grace_s=2)


def wait_for(services, admin, run_id: int, states=TERMINAL, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = services.runs.get(admin, run_id)
        if run.state in states:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {services.runs.get(admin, run_id).state}")


def until(
    check: Callable[[], bool], timeout: float = 30, why: Callable[[], str] | None = None
) -> None:
    """Wait for `check`; on time-out, `why()` says what the state was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time" + (f": {why()}" if why else ""))


def table_rows(services) -> dict:
    return every_row(services)
