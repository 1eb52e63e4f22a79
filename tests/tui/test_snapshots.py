"""Snapshot tests of the main screens on the demo workspace (pytest-textual-snapshot).
Refresh after an intended change: python -m pytest tests/tui/test_snapshots.py --snapshot-update
No secret may appear in any snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable, TextArea, Tree

from tests.tui.conftest import ANA

SECRET = "snapshot-Secret-4471"
SIZE = (130, 36)
SNAPSHOTS = Path(__file__).parent / "__snapshots__"


async def settle(pilot, check, timeout: float = 20.0) -> None:
    """Until `check()` and the header shows the engine's state (it is painted by a worker of
    its own, so a pane can be ready before it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    header = pilot.app.query_one("#header")
    while loop.time() < deadline and not (check() and "queue 0" in str(header.render())):
        await pilot.pause(0.05)
    await pilot.pause(0.3)


@pytest.fixture
def app(make_app, services):
    services.connections.create(
        ANA,
        "minio",
        "s3",
        {"endpoint": "http://minio.lake.local:9000", "access_key": "lake", "secret_key": SECRET},
    )
    return make_app(health_every=None)  # a background check would race the picture


def snap_list(app, snap_compare, key: str, pane: str, rows: int) -> bool:
    """The picture of a list pane, taken once its table lists `rows` rows."""

    async def before(pilot):
        await pilot.press(key)
        table = app.query_one(f"#{pane} DataTable", DataTable)
        await settle(pilot, lambda: table.row_count == rows)

    return snap_compare(app, run_before=before, terminal_size=SIZE)


def test_workspaces_screen(app, snap_compare):
    assert snap_list(app, snap_compare, "1", "workspaces", 1)


def test_catalog_screen(app, snap_compare):
    async def before(pilot):
        await pilot.press("2")
        tree = app.query_one(Tree)
        await settle(pilot, lambda: len(tree.root.children) == 3)
        gold = tree.root.children[2]
        gold.expand()
        await settle(pilot, lambda: len(gold.children) == 2)

    assert snap_compare(app, run_before=before, terminal_size=SIZE)


def test_sql_screen(app, snap_compare):
    async def before(pilot):
        await pilot.press("3")
        editor = app.query_one("#editor", TextArea)
        await settle(pilot, lambda: editor.language == "sql")  # its saved tabs are in
        editor.text = (
            "SELECT region, tariff, round(sum(total_kwh)) AS kwh\n"
            "FROM demo_gold.daily_consumption\nGROUP BY ALL ORDER BY kwh DESC"
        )
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=before, terminal_size=SIZE)


def test_jobs_screen(app, snap_compare):
    assert snap_list(app, snap_compare, "4", "jobs", 7)


def test_connections_screen_masks_secrets(app, snap_compare):
    assert snap_list(app, snap_compare, "6", "connections", 1)


def test_help_screen(app, snap_compare):
    async def before(pilot):
        await pilot.press("4")
        table = app.query_one("#jobs DataTable", DataTable)
        await settle(pilot, lambda: table.row_count == 7)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=before, terminal_size=SIZE)


def test_no_secret_in_any_snapshot():
    files = [*SNAPSHOTS.rglob("*.svg"), *SNAPSHOTS.rglob("*.raw")]
    assert files, "snapshots are missing: run with --snapshot-update once"
    for svg in files:
        assert SECRET not in svg.read_text(), svg.name
