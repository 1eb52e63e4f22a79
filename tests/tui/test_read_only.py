"""A read-only console (issue 13, item 6; README "The console"): `--read-only`, or a viewer
of the workspace, changes nothing. Its changing keys are not in the footer, `?` or the
palette, pressing one says why, and a write typed into the SQL pane is refused by the
engine: no table, no `sql.write` in the audit trail."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from engine.context import Actor
from tests.tui.conftest import ANA
from tests.tui.test_console import open_jobs, run_sql, started, text_of, wait_until
from tests.tui.test_untrusted_text import screen

SIZE = (220, 50)  # the whole footer fits
# Per pane: its changing verbs, as the README names them, and verbs that only read.
PANES = {
    "4": (("Run now", "New SQL job", "New Spark job", "Edit", "Pause/resume"), ()),
    "5": (("Cancel", "Retry"), ("Filter state", "Filter time", "All jobs")),
    "1": (("New", "Provision", "Archive"), ("Separation check",)),
    "6": (("New", "Delete"), ("Test",)),
}
JOB_CHANGES = PANES["4"][0]


def palette_hits(app) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def footer(app) -> str:
    return screen(app).strip().splitlines()[-1]


async def test_a_read_only_console_refuses_a_write_from_the_sql_pane(make_app, services):
    before = services.audit.list(ANA, limit=10000)
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("3")
        status = app.query_one("#sql-status", Static)
        await run_sql(app, pilot, "CREATE TABLE demo_gold.ro_test AS SELECT 1 AS x")
        await wait_until(pilot, lambda: "error" in text_of(status))
        assert "read-only session" in text_of(status)
        # Reads still run.
        await run_sql(app, pilot, "SELECT count(*) AS n FROM demo_gold.top_meters")
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
    assert "ro_test" not in services.catalog.tables(ANA, "demo_gold")
    after = services.audit.list(ANA, limit=10000)
    assert [e.action for e in after] == [e.action for e in before]


async def test_changing_keys_are_gone_from_footer_help_and_palette(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(app, pilot)
        for key, (changes, reads) in PANES.items():
            await pilot.press(key)
            await pilot.pause(0.3)
            shown = footer(app)
            assert all(verb not in shown for verb in changes), shown
            assert all(verb in shown for verb in reads), shown
        await open_jobs(app, pilot, 7)
        # `n` is refused with one notice and opens nothing.
        await pilot.press("n")
        await pilot.pause(0.3)
        assert app.screen is app.screen_stack[0]
        assert "read-only: this console changes nothing" in screen(app)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: bool(app.screen.query("#help-text")))
        help_text = text_of(app.screen.query_one("#help-text"))
        assert all(verb not in help_text for verb in JOB_CHANGES), help_text
        assert "Its runs" in help_text
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"new sql job")
        await pilot.pause(0.5)  # the palette searches after a short debounce
        assert not any("New SQL job" in hit for hit in palette_hits(app))
        await pilot.press("escape")


async def test_the_same_keys_are_there_when_the_console_may_change(make_app):
    """The contrast that keeps the test above honest."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        for key, (changes, reads) in PANES.items():
            await pilot.press(key)
            await pilot.pause(0.3)
            shown = footer(app)
            assert all(verb in shown for verb in changes + reads), shown
        await open_jobs(app, pilot, 7)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"new sql job")
        await pilot.pause(0.5)
        assert any("New SQL job" in hit for hit in palette_hits(app))
        await pilot.press("escape")


async def test_a_viewer_gets_a_read_only_console(services):
    from tui.app import SadeemApp

    services.users.create(ANA, "vic")
    services.workspaces.add_member(ANA, "demo", "vic", "viewer")
    app = SadeemApp(services, Actor("vic", "tui"), "demo")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await wait_until(pilot, lambda: "READ-ONLY" in text_of(app.query_one("#header")))
        await open_jobs(app, pilot, 7)
        assert all(verb not in footer(app) for verb in JOB_CHANGES)
        await pilot.press("3")
        status = app.query_one("#sql-status", Static)
        await run_sql(app, pilot, "CREATE TABLE demo_gold.ro_test AS SELECT 1 AS x")
        await wait_until(pilot, lambda: "error" in text_of(status))
    assert "ro_test" not in services.catalog.tables(ANA, "demo_gold")
