"""SQL typed in the console runs on Trino as the console's user, tagged `interactive` for
Trino's resource groups (README, "Trino sees the real user"); a refused impersonation is
shown as one line naming the cause."""

from __future__ import annotations

import pytest
from textual.widgets import Static, TextArea

from tests.fakes.trino_server import FakeTrino
from tests.tui.conftest import ANA
from tests.tui.drive import console, notices, text_of, wait_until


@pytest.fixture
def trino(tmp_path, services):
    """A fake Trino (password auth as `svc`, which may act as `ana` only) behind workspace
    `lake`, whose SQL connection it is."""
    fake = FakeTrino(
        password="svc-password-3", user="svc", tls_dir=tmp_path / "tls", may_impersonate={"ana"}
    ).start()
    services.connections.create(
        ANA,
        "trino",
        "trino",
        {
            "host": "127.0.0.1",
            "port": fake.port,
            "http_scheme": "https",
            "verify_tls": False,
            "user": "svc",
            "password": "svc-password-3",
        },
    )
    services.workspaces.create(ANA, "lake", sql_connection="trino")
    yield fake
    fake.stop()


async def run_on_trino(app, pilot, sql: str) -> Static:
    await pilot.press("3")
    status = app.query_one("#sql-status", Static)
    editor = app.query_one("#editor", TextArea)
    editor.text = sql
    editor.focus()
    await pilot.press("f5")
    return status


async def test_console_sql_reaches_trino_as_its_user_with_interactive_tags(make_app, trino):
    async with console(make_app, workspace="lake") as (app, pilot):
        status = await run_on_trino(app, pilot, "SELECT * FROM range(3)")
        await wait_until(pilot, lambda: "3 rows" in text_of(status))
    # The header's health check runs `SELECT 1` as the connection's user; the typed one:
    [query] = [q for q in trino.queries.values() if q.sql == "SELECT * FROM range(3)"]
    assert (query.user, query.principal, query.state) == ("ana", "svc", "FINISHED")
    headers = {k.lower(): v for k, v in query.headers.items()}
    assert headers["x-trino-user"] == "ana"
    assert headers["x-trino-client-tags"] == "interactive"
    assert headers["x-trino-source"] == "sadeem"


async def test_console_shows_a_refused_impersonation_in_one_line(make_app, trino):
    trino.may_impersonate = frozenset()  # svc may act as nobody but itself
    async with console(make_app, workspace="lake") as (app, pilot):
        status = await run_on_trino(app, pilot, "SELECT 1")
        await wait_until(pilot, lambda: "error" in text_of(status))
        shown = [text_of(w) for w in app.screen.query(Static)] + notices(app)
        said = [s for s in shown if "cannot impersonate" in s]
        assert said, shown
        assert any("User svc cannot impersonate user ana" in s for s in said)
        assert any("impersonation rules" in s for s in said)
        assert all("svc-password-3" not in s for s in shown)
