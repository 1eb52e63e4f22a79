"""The console's connection form is built from the registered kinds: a toy catalog
registered from a test module (tests/fakes/toy_catalog.py) is offered, its fields are the
form's (the secret one typed as dots) and it is created, with no change to the console."""

from __future__ import annotations

from textual.widgets import Input, Label

from tests.fakes import toy_catalog
from tests.tui.conftest import ANA
from tests.tui.drive import console, open_list, wait_until


async def test_a_registered_kind_is_offered_and_its_fields_make_the_form(make_app, services):
    with toy_catalog.registered():
        async with console(make_app, health_every=None) as (app, pilot):
            conns = await open_list(app, pilot, "6", "connections", 0)
            await pilot.press("n")
            await wait_until(pilot, lambda: bool(app.screen.query("#f-type")))
            labels = " ".join(str(label.render()) for label in app.screen.query(Label))
            assert "toy_catalog" in labels  # the type field says which types there are
            app.screen.query_one("#f-name", Input).value = "toy"
            app.screen.query_one("#f-type", Input).value = "toy_catalog"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: bool(app.screen.query("#f-warehouse")))
            form = app.screen
            shown = {i.id for i in form.query(Input)}
            assert shown == {"f-warehouse", "f-namespaces", "f-token", "f-retries", "f-timeout_s"}
            assert form.query_one("#f-token", Input).password
            assert form.query_one("#f-namespaces", Input).value == "toy_a,toy_b"  # its default
            form.query_one("#f-warehouse", Input).value = "w"
            form.query_one("#f-token", Input).value = toy_catalog.PASSWORD
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: conns.row_count == 1)
            assert "token=*** (enc)" in str(conns.get_row("toy"))
        assert services.connections.resolve(ANA, "toy").config["token"] == toy_catalog.PASSWORD
