"""The console's job form is built from the registered job kinds: a toy `echo` kind
registered from a test module (tests/fakes/echo_kind.py) gets its own fields on screen,
its field errors under them, and is created, with no change to the console."""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.fakes import echo_kind
from tests.tui.conftest import ANA
from tests.tui.drive import console, open_list, text_of, wait_until
from tui.panes.jobs import JobsPane


async def test_a_registered_job_kind_makes_the_job_form_and_is_created(make_app, services):
    with echo_kind.registered():
        async with console(make_app, health_every=None) as (app, pilot):
            jobs = await open_list(app, pilot, "4", "jobs", 7)
            app.query_one(JobsPane)._job_form("echo")  # n and S open sql and spark
            await wait_until(pilot, lambda: bool(app.screen.query("#f-text")))
            form = app.screen
            shown = {i.id for i in form.query(Input)}
            assert {"f-name", "f-text", "f-times", "f-connection"} <= shown
            assert not shown & {"f-sql", "f-main_application_file"}
            assert form.query_one("#f-times", Input).value == "1"  # its declared default
            form.query_one("#f-name", Input).value = "hello"
            await pilot.press("ctrl+s")
            err = form.query_one("#e-text", Static)
            await wait_until(pilot, lambda: "an echo job needs its text" in text_of(err))
            form.query_one("#f-text", Input).value = "hi there"
            form.query_one("#f-times", Input).value = "2"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: jobs.row_count == 8)
        job = services.jobs.get(ANA, "demo", "hello")
        assert job.type == "echo" and job.definition == {
            "text": "hi there",
            "times": 2,
            "params": {},
        }
