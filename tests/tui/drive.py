"""Driving the console in tests: waiting on it, reading it, and runs with fixed times."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.widgets import DataTable

from tests.tui.conftest import ANA

SIZE = (140, 45)
# Every run a test makes is queued on this day, so pictures and lists do not move with time.
FIXED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def wait_until(pilot, check, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        if check():
            return
    raise AssertionError("the console did not get there in time")


async def started(app, pilot) -> None:
    """The console is up: engine open, role known, header painted (keys before can race)."""
    header = app.query_one("#header")
    await wait_until(pilot, lambda: app.ready and re.search(r"queue \d", text_of(header)))
    await pilot.pause(0.2)


def text_of(widget) -> str:
    return str(widget.render())


def notices(app) -> list[str]:
    """The notifications raised so far (run_test hides the toasts but keeps them)."""
    return [n.message for n in app._notifications]


@asynccontextmanager
async def console(make_app, **kwargs):
    """A started console: (app, pilot)."""
    app = make_app(**kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        yield app, pilot


@asynccontextmanager
async def console_with_runner(make_app, services):
    """The console beside a running embedded engine, stopped however the test ends."""
    from engine.runner.engine import Engine

    engine = Engine(services, poll_interval=0.05).start()
    try:
        async with console(make_app, engine=engine) as (app, pilot):
            yield app, pilot
    finally:
        engine.stop(grace_s=2)


async def open_list(app, pilot, key: str, pane: str, rows: int | None) -> DataTable:
    """The pane's key, and its table once it has focus and lists `rows` rows (None: any)."""
    await pilot.press(key)
    table = app.query_one(f"#{pane} DataTable", DataTable)
    await wait_until(pilot, lambda: table.has_focus and (rows is None or table.row_count == rows))
    return table


def row_keys(table: DataTable) -> set[str]:
    return {row.key.value for row in table.ordered_rows}


def add_run(
    services: Any,
    job: str,
    state: str,
    *,
    minute: int = 0,
    seconds: float = 4.0,
    log: Iterable[str] = (),
    error: str | None = None,
) -> int:
    """A run of `job` in `state`, queued `minute` minutes after FIXED, with its log lines.
    Times are set in the DB directly: no runner, so nothing moves them afterwards."""
    from engine.models import Run, RunLogChunk

    run_id = services.runs.trigger(ANA, "demo", job).id
    lines = list(log)
    if lines:
        services.queue.append_log(run_id, "\n".join(lines))
    queued = FIXED + timedelta(minutes=minute)
    with services.db.session() as s:
        row = s.get(Run, run_id)
        row.state, row.queued_at, row.error = state, queued, error
        row.logical_date = queued.date().isoformat()  # a manual run's `ds` is today
        if state != "queued":
            row.started_at = queued + timedelta(seconds=1)
        if state not in ("queued", "running", "cancelling"):
            row.finished_at = row.started_at + timedelta(seconds=seconds)
        for chunk in s.query(RunLogChunk).filter_by(run_id=run_id):
            chunk.at = queued
    return run_id
