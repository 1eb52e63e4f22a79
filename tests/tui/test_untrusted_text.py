"""Untrusted text is plain text in the console (issue 13, item 7): markup and terminal
control sequences in a run error, a log line, a job or workspace description, a table
name, a column name, a cell value and an engine error are shown literally (markup as
typed, controls removed), with no crash, and no control character reaches the screen.

The screen is read from `export_screenshot()` (the SVG of what the terminal would show):
a leaked ESC shows up there as it is."""

from __future__ import annotations

import html
import re

import pyarrow as pa
from textual.widgets import DataTable, Input, Tree
from textual.widgets._toast import Toast

from tests.tui.conftest import ANA
from tests.tui.test_console import open_jobs, run_sql, started, text_of, wait_until

SIZE = (220, 50)  # wide enough that the runs list shows its error column
MARKUP = "[/b] [red]x[/red]"
SEQUENCES = "\x1b]0;pwned\x07\x1b[2J\b"
HOSTILE = f"<<{MARKUP}{SEQUENCES}>>"
CONTROLS = ("\x1b", "\x07", "\x08", "\x9b")


def screen(app) -> str:
    """The text on screen; fails if a control character would reach the terminal."""
    svg = app.export_screenshot()
    leaked = [repr(c) for c in CONTROLS if c in svg]
    assert not leaked, f"reached the screen: {leaked}"
    return html.unescape(re.sub(r"<[^>]*>", "", svg)).replace("\xa0", " ")


def shows_literally(app, text: str = MARKUP) -> bool:
    return text in screen(app)


async def test_a_run_error_and_a_log_line(make_app, services):
    services.jobs.create(ANA, "demo", "hostile", "sql", {"sql": "SELECT 1 AS x"})
    run = services.runs.trigger(ANA, "demo", "hostile")
    services.queue.append_log(run.id, f"log {HOSTILE}\nnext line\n")
    services.queue.finish(run.id, "failed", error=f"error {HOSTILE}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("5")
        runs = app.query_one("#runs DataTable", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1)
        assert shows_literally(app, f"error <<{MARKUP}>>")
        runs.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("next line" in line for line in app.screen.lines))
        await pilot.pause(0.2)
        info = text_of(app.screen.query_one("#run-info"))
        assert f"error <<{MARKUP}>>" in info
        assert f"log <<{MARKUP}>>" in app.screen.lines
        assert shows_literally(app, f"log <<{MARKUP}>>")


async def test_a_job_and_a_workspace_description(make_app, services):
    services.jobs.create(
        ANA, "demo", "hostile", "sql", {"sql": "SELECT 1 AS x"}, description=HOSTILE
    )
    services.workspaces.update(ANA, "demo", description=HOSTILE)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("1")
        table = app.query_one("#workspaces DataTable", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert shows_literally(app, f"<<{MARKUP}>>")
        jobs = await open_jobs(app, pilot, 8)
        jobs.move_cursor(row=jobs.get_row_index("hostile"))
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-description")))
        await pilot.pause(0.2)
        assert app.screen.query_one("#f-description", Input).value == f"<<{MARKUP}>>"
        assert shows_literally(app)


async def test_a_table_name_a_column_name_and_a_cell_value(make_app, services):
    # Sadeem's own SQL refuses such names; another writer of the catalog (Spark, Trino) does not.
    catalog = services.lakehouse.catalog(ANA, services.workspaces.get(ANA, "demo"))
    for name in (f"t{MARKUP}", f"u{SEQUENCES}"):
        catalog.create_table(f"demo_gold.{name}", pa.schema([pa.field("x", pa.int64())]))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("2")
        tree = app.query_one(Tree)
        await wait_until(pilot, lambda: len(tree.root.children) == 3)
        gold = tree.root.children[2]
        gold.expand()
        await wait_until(pilot, lambda: len(gold.children) == 4)
        await pilot.pause(0.2)
        assert shows_literally(app, f"t{MARKUP}")
        # The table's detail names it again, in markup of its own.
        hostile = next(n for n in gold.children if MARKUP in str(n.label))
        tree.move_cursor(hostile)
        tree.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: MARKUP in text_of(app.query_one("#table-info")))
        assert shows_literally(app, f"demo_gold.t{MARKUP}")
        # A cell value and a column name, made by SQL so the editor holds no control.
        await pilot.press("3")
        status = app.query_one("#sql-status")
        await run_sql(
            app,
            pilot,
            "SELECT chr(27) || ']0;pwned' || chr(7) || '<<[/b] [red]x[/red]' || chr(8) "
            "|| chr(27) || '[2J>>' AS \"c[/b]\", '[b]bold[/b]' AS b",
        )
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        await pilot.pause(0.3)
        screen(app)  # no control reaches the screen
        # The grid's own lines: the editor above shows the statement, not its result.
        grid = app.query_one("#results")
        shown = "\n".join(grid.render_line(y).text for y in range(grid.size.height))
        assert f"<<{MARKUP}>>" in shown
        assert "c[/b]" in shown  # the column's name
        assert "[b]bold[/b]" in shown  # markup that parses is still not markup


async def test_an_engine_error_quoting_markup(make_app):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(app, pilot)
        await pilot.press("3")
        status = app.query_one("#sql-status")
        await run_sql(app, pilot, 'SELECT "[/b]nope"')
        await wait_until(pilot, lambda: "error" in text_of(status))
        await pilot.pause(0.3)
        assert '"[/b]nope"' in text_of(status)
        await wait_until(
            pilot, lambda: any("[/b]nope" in text_of(t) for t in app.screen.query(Toast))
        )
        assert shows_literally(app, "[/b]nope")
