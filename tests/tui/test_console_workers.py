"""The console's workers (issue 15, step 6): a load that a newer one replaced never shows
its answer. The Runs list reloads on every filter key and on a timer; a load that answers
late (a slow database, a busy engine) must not paint its rows over the newer, filtered
ones: the operator asked for `state=running` and would be shown every run."""

from __future__ import annotations

import threading

from tests.tui.conftest import ANA
from tests.tui.drive import add_run, console, open_list, row_keys, text_of, wait_until


async def test_an_older_unfiltered_runs_load_never_overwrites_a_newer_filtered_one(
    make_app, services, monkeypatch
):
    from tui.panes.runs import RunsPane

    monkeypatch.setattr(RunsPane, "LIVE_SECONDS", None)  # only the loads this test starts
    services.jobs.create(ANA, "demo", "ping", "sql", {"sql": "SELECT 1"})
    running = str(add_run(services, "ping", "running", minute=1))
    failed = str(add_run(services, "ping", "failed", minute=2))

    real = services.runs.list
    gate = {"armed": False}
    entered, release, answered = threading.Event(), threading.Event(), threading.Event()

    def runs_list(actor, workspace, **kwargs):
        if gate["armed"] and kwargs.get("state") is None:
            # The unfiltered load: it answers only once the filtered one has been shown.
            entered.set()
            release.wait(20)
            try:
                return real(actor, workspace, **kwargs)
            finally:
                answered.set()
        return real(actor, workspace, **kwargs)

    monkeypatch.setattr(services.runs, "list", runs_list)
    async with console(make_app) as (app, pilot):
        runs = await open_list(app, pilot, "5", "runs", 2)
        pane = app.query_one("#runs", RunsPane)
        gate["armed"] = True
        pane.reload()  # an unfiltered load, held in the database
        await wait_until(pilot, entered.is_set)
        await pilot.press("f")  # state=running: the newer load, answered at once
        await wait_until(pilot, lambda: row_keys(runs) == {running})
        release.set()
        await wait_until(pilot, answered.is_set)
        for _ in range(10):  # the older answer has had every chance to be painted
            await pilot.pause(0.05)
        assert row_keys(runs) == {running}, f"the older load painted {row_keys(runs)}"
        assert failed not in row_keys(runs)
        assert "state=running" in text_of(app.query_one("#runs .pane-title"))


# -- keys from the config, the theme kept (README "Configuration") ----------------------------


async def test_a_keymap_rebinds_a_verb_and_help_shows_the_new_key(make_app, services):
    """`[keymap] "jobs.pause" = "P"`: P pauses the job, p no longer does, `?` says P."""

    def paused() -> bool:
        return services.jobs.get(ANA, "demo", "bronze_meters").schedule.paused

    assert paused()  # the demo ships its one schedule paused
    async with console(make_app, keymap={"jobs.pause": "P"}) as (app, pilot):
        jobs = await open_list(app, pilot, "4", "jobs", 7)
        jobs.move_cursor(row=jobs.get_row_index("bronze_meters"))
        await pilot.press("p")
        await pilot.pause(0.5)
        assert paused(), "the old key still pauses"
        await pilot.press("P")
        await wait_until(pilot, lambda: not paused())
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: bool(app.screen.query("#help-text")))
        help_lines = text_of(app.screen.query_one("#help-text")).splitlines()
        assert any(line.split()[:2] == ["P", "Pause/resume"] for line in help_lines), help_lines


async def test_the_chosen_theme_comes_back_in_the_next_console(make_app):
    async with console(make_app) as (app, pilot):
        assert app.theme != "nord"
        app.theme = "nord"  # what ctrl+p "theme" sets
        await pilot.pause(0.5)
    async with console(make_app) as (app, pilot):
        assert app.theme == "nord"
