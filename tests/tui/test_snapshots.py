"""Snapshot tests of every screen of the console on the demo workspace (pytest-textual-snapshot),
grouped by feature. Refresh after an intended change, then look at each picture:
    python -m pytest tests/tui/test_snapshots.py --snapshot-update
Pictures are deterministic: fixed terminal size, run times and audit times, no background
health check; each waits for the header and its data before it is taken.
No piece of a secret may appear in any snapshot."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, OptionList, TextArea, Tree

from tests.tui.conftest import ANA
from tests.tui.drive import FIXED, add_run

# Letters and digits no screen prints by chance: any six in a row in a picture is a leak.
SECRET = "Qz8vK3wXpL7m"
SIZE = (130, 36)
WIDE = (180, 36)  # the Connections pane's whole rows
SNAPSHOTS = Path(__file__).parent / "__snapshots__" / Path(__file__).stem


def leaks(text: str) -> list[str]:
    """The pieces of SECRET (six characters or more) that `text` shows."""
    return [SECRET[i : i + 6] for i in range(len(SECRET) - 5) if SECRET[i : i + 6] in text]


async def settle(pilot, check, timeout: float = 20.0) -> None:
    """Until `check()` and the header shows the engine's state (it is painted by a worker of
    its own, so a pane can be ready before it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    header = pilot.app.query_one("#header")
    while loop.time() < deadline and not (check() and "queue 0" in str(header.render())):
        await pilot.pause(0.05)
    assert check(), "the screen did not get there in time"
    await pilot.pause(0.3)


@pytest.fixture
def services_with_secrets(services):
    """The demo, plus two connections holding SECRET (dead ports: their checks fail fast)."""
    services.connections.create(
        ANA,
        "minio",
        "s3",
        {"endpoint": "http://127.0.0.1:9", "access_key": "lake", "secret_key": SECRET},
    )
    services.connections.create(
        ANA,
        "warehouse",
        "trino",
        {"host": "127.0.0.1", "port": 9, "http_scheme": "https", "user": "svc", "password": SECRET},
    )
    return services


@pytest.fixture
def app(make_app, services_with_secrets):
    return make_app(health_every=None)  # a background check would race the picture


async def show_list(pilot, key: str, pane: str, rows: int) -> DataTable:
    """Press the pane's key; its table once it lists `rows` rows."""
    await pilot.press(key)
    table = pilot.app.query_one(f"#{pane} DataTable", DataTable)
    await settle(pilot, lambda: table.row_count == rows)
    return table


def snap_list(app, snap_compare, key: str, pane: str, rows: int, size=SIZE) -> bool:
    """The picture of a list pane, taken once its table lists `rows` rows."""

    async def before(pilot):
        await show_list(pilot, key, pane, rows)

    return snap_compare(app, run_before=before, terminal_size=size)


def runs_of_ping(services) -> int:
    """Six finished runs of `ping` (the duration chart) and a failed one with a log; its id."""
    services.jobs.create(ANA, "demo", "ping", "sql", {"sql": "SELECT 1"})
    for i, seconds in enumerate((3.0, 5.5, 4.0, 9.0, 2.5, 6.0)):
        add_run(services, "ping", "succeeded", minute=i, seconds=seconds)
    log = [
        "claimed by engine embedded",
        "rendered SQL: SELECT * FROM demo_gold.nope",
        "submitting to duckdb",
        "error: Catalog Error: Table with name nope does not exist!",
        "finished: failed",
    ]
    return add_run(
        services, "ping", "failed", minute=7, seconds=1.5, log=log, error="Table nope missing"
    )


class TestPanes:
    """Each of the eight panes (keys 1..8) as it shows on the demo workspace."""

    def test_workspaces(self, app, snap_compare):
        """Workspaces: the demo with its layers, prefix and members."""
        assert snap_list(app, snap_compare, "1", "workspaces", 1)

    def test_catalog(self, app, snap_compare):
        """Catalog: the three layers, gold opened to its tables, one table to its columns."""

        async def before(pilot):
            await pilot.press("2")
            tree = app.query_one(Tree)
            await settle(pilot, lambda: len(tree.root.children) == 3)
            gold = tree.root.children[2]
            gold.expand()
            await settle(pilot, lambda: len(gold.children) == 2)
            gold.children[1].expand()
            await settle(pilot, lambda: len(gold.children[1].children) > 0)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)

    def test_sql(self, app, snap_compare):
        """SQL: a highlighted statement in the editor, before it runs."""

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

    def test_jobs(self, app, snap_compare):
        """Jobs: the demo's seven, the paused schedule and the upstream of each."""
        assert snap_list(app, snap_compare, "4", "jobs", 7)

    def test_runs(self, make_app, services_with_secrets, snap_compare):
        """Runs: states in colour, trigger, attempt, queued time, duration, error."""
        runs_of_ping(services_with_secrets)
        app = make_app(health_every=None)
        assert snap_list(app, snap_compare, "5", "runs", 7)

    def test_connections_masks_secrets(self, app, snap_compare):
        """Connections: secret fields masked as `*** (enc)`, whole rows on screen."""
        assert snap_list(app, snap_compare, "6", "connections", 2, size=WIDE)

    def test_health(self, make_app, services_with_secrets, snap_compare):
        """Health: the embedded defaults ok, the two dead connections in red."""
        real = services_with_secrets.health.check_all

        def steady(h):
            """Latencies vary by the millisecond, versions with each install: fixed ones."""
            version = h.version and re.sub(r"\d+(\.\d+)+", "1.2.3", h.version)
            return replace(h, latency_ms=None if h.latency_ms is None else 1.0, version=version)

        services_with_secrets.health.check_all = lambda actor: [steady(h) for h in real(actor)]
        app = make_app(health_every=None)
        assert snap_list(app, snap_compare, "7", "health", 5)

    def test_audit(self, make_app, services_with_secrets, snap_compare):
        """Audit: who did what, newest first (times fixed, a second apart)."""
        from engine.models import AuditEvent

        with services_with_secrets.db.session() as s:
            events = s.query(AuditEvent).order_by(AuditEvent.id).all()
            for i, event in enumerate(events):
                event.at = FIXED + timedelta(seconds=i)
        app = make_app(health_every=None)
        assert snap_list(app, snap_compare, "8", "audit", len(events))


class TestRunScreen:
    """One run: details, the duration chart of its job's runs, the log."""

    def test_log_and_duration_chart(self, make_app, services_with_secrets, snap_compare):
        """A failed run's details and error, the chart of six earlier runs, its whole log."""
        run_id = runs_of_ping(services_with_secrets)
        app = make_app(health_every=None)

        async def before(pilot):
            runs = await show_list(pilot, "5", "runs", 7)
            runs.move_cursor(row=runs.get_row_index(str(run_id)))
            await pilot.press("enter")
            await settle(pilot, lambda: "finished: failed" in getattr(app.screen, "lines", []))

        assert snap_compare(app, run_before=before, terminal_size=SIZE)

    def test_log_search_highlights_the_match(self, make_app, services_with_secrets, snap_compare):
        """`/` search: every match highlighted, the status line counting them."""
        run_id = runs_of_ping(services_with_secrets)
        app = make_app(health_every=None)

        async def before(pilot):
            runs = await show_list(pilot, "5", "runs", 7)
            runs.move_cursor(row=runs.get_row_index(str(run_id)))
            await pilot.press("enter")
            await settle(pilot, lambda: "finished: failed" in getattr(app.screen, "lines", []))
            await pilot.press("slash", *"nope", "enter")
            await settle(pilot, lambda: len(app.screen.query_one("#run-log").hits) == 2)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)


class TestForms:
    """The forms that create things, filled in as an operator would."""

    def test_new_sql_job(self, app, snap_compare):
        """Jobs `n`: name, templated SQL, target table and mode."""

        async def before(pilot):
            await show_list(pilot, "4", "jobs", 7)
            await pilot.press("n")
            await settle(pilot, lambda: bool(app.screen.query("#f-sql")))
            app.screen.query_one("#f-name", Input).value = "meter_count"
            app.screen.query_one(
                "#f-sql", TextArea
            ).text = "SELECT count(*) AS meters FROM {{ workspace }}_silver.meters"
            app.screen.query_one("#f-target_table", Input).value = "demo_gold.meter_count"
            app.screen.query_one("#f-target_table", Input).focus()
            await pilot.pause(0.3)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)

    def test_connection_with_a_secret_typed(self, app, snap_compare):
        """Connections `n`, then the s3 form with the secret key typed: it shows masked."""

        async def before(pilot):
            await show_list(pilot, "6", "connections", 2)
            await pilot.press("n")
            await settle(pilot, lambda: bool(app.screen.query("#f-type")))
            app.screen.query_one("#f-name", Input).value = "lake"
            app.screen.query_one("#f-type", Input).value = "s3"
            await pilot.press("ctrl+s")
            await settle(pilot, lambda: bool(app.screen.query("#f-secret_key")))
            app.screen.query_one("#f-endpoint", Input).value = "http://127.0.0.1:9"
            secret = app.screen.query_one("#f-secret_key", Input)
            secret.cursor_blink = False  # a blinking cursor made the picture depend on time
            secret.focus()
            await pilot.press(*SECRET)
            await settle(pilot, lambda: app.screen.query_one("#f-secret_key").value == SECRET)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)


class TestOverlays:
    """What opens over a pane: the command palette and the help screen."""

    def test_command_palette(self, app, snap_compare):
        """ctrl+p on Jobs, `run` typed: the matching panes and the pane's verbs."""

        async def before(pilot):
            jobs = await show_list(pilot, "4", "jobs", 7)
            await pilot.press("ctrl+p")
            await settle(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
            # A blinking cursor made the picture depend on when it was taken (CI, loaded).
            app.screen.query_one(Input).cursor_blink = False
            await pilot.press(*"run")
            await pilot.pause(0.8)  # the palette searches after a short debounce
            options = app.screen.query_one(OptionList)
            # The list behind it too: a reload that started before ctrl+p lands later.
            await settle(pilot, lambda: options.option_count >= 3 and jobs.row_count == 7)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)

    def test_help(self, app, snap_compare):
        """`?` on Jobs: the pane's keys, then the global ones."""

        async def before(pilot):
            await show_list(pilot, "4", "jobs", 7)
            await pilot.press("question_mark")
            await settle(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")

        assert snap_compare(app, run_before=before, terminal_size=SIZE)


class TestModesAndErrors:
    """The header's read-only mark and an engine error as a notification."""

    def test_read_only_header_and_refusal(self, make_app, services_with_secrets, snap_compare):
        """`--read-only`: READ-ONLY in the header; `n` on Jobs only says it changes nothing."""
        app = make_app(health_every=None, read_only=True)

        async def before(pilot):
            await show_list(pilot, "4", "jobs", 7)
            await settle(pilot, lambda: "READ-ONLY" in str(app.query_one("#header").render()))
            await pilot.press("n")
            await pilot.pause(0.3)

        assert snap_compare(app, run_before=before, terminal_size=SIZE)

    def test_error_notification(self, make_app, services_with_secrets, snap_compare):
        """`:ws nosuchws`: the engine's refusal as a red notification, the console still on
        the workspace it was on (issue 14: this crashed it)."""
        app = make_app(health_every=None)

        async def before(pilot):
            await show_list(pilot, "1", "workspaces", 1)
            await pilot.press("colon", *"ws nosuchws", "enter")
            await settle(pilot, lambda: bool(app.screen.query("Toast")))

        assert snap_compare(app, run_before=before, terminal_size=SIZE)


SNAPSHOT_TESTS = [
    f"{cls.__name__}.{name}"
    for cls in (TestPanes, TestRunScreen, TestForms, TestOverlays, TestModesAndErrors)
    for name in vars(cls)
    if name.startswith("test_")
]


async def test_connections_rows_never_show_a_secret(make_app, services_with_secrets):
    """Every cell of every Connections row, as the pane holds it (not cut to the screen)."""
    from tests.tui.drive import console, open_list

    async with console(make_app, health_every=None) as (app, pilot):
        table = await open_list(app, pilot, "6", "connections", 2)
        for row in table.ordered_rows:
            cells = " ".join(str(c) for c in table.get_row(row.key))
            # The whole config, its last field too, with the secret masked.
            assert "verify_tls=True" in cells, cells
            assert "secret_key=*** (enc)" in cells or "password=*** (enc)" in cells, cells
            assert not leaks(cells), cells


def test_no_secret_in_any_snapshot():
    """Every snapshot exists, no stale one is left, and none shows a piece of SECRET."""
    files = {re.sub(r"\.(svg|raw)$", "", f.name): f for f in SNAPSHOTS.iterdir()}
    assert sorted(files) == sorted(SNAPSHOT_TESTS), "run with --snapshot-update once"
    for name, path in files.items():
        assert not leaks(path.read_text()), name
