"""The console (Pilot) against a real `sadeem engine serve`: it lists what the engine's
services say, shows the engine's state in its header, runs SQL through the socket, and
starts no engine of its own."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.engine.api.conftest import _client_env
from tests.tui.drive import SIZE, started, text_of, wait_until


# Once quarantined: the console's first F5 against a fresh server stayed at "submitting…"
# in some whole-suite runs. The server had deadlocked on the backend kinds' registry (see
# test_backend_kinds.py's deadlock test); this test is the console's view of that promise.
async def test_console_against_the_server(server, tmp_path, monkeypatch):
    from engine.client import RemoteServices

    env = _client_env(server.base)
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, "workspace", "create",
         "console_ws", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 5), done.stderr  # 5: made by an earlier test here
    # `sadeem --server unix:... -w console_ws`, as an operator opens it.
    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from tui.main import build_console

    monkeypatch.setenv("SADEEM_DATA_DIR", str(tmp_path / "client"))
    cli = Cli(build_parser().parse_args(["--server", server.url, "-w", "console_ws"]))
    app, opened = build_console(cli)
    remote = cli.services
    assert isinstance(remote, RemoteServices)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            await wait_until(pilot, lambda: "console_ws" in text_of(app.query_one("#header")))
            header = text_of(app.query_one("#header"))
            assert "user root" in header and "engine daemon" in header  # the server's engine
            # SQL through the socket: rows, an error with its place, a cancel of a long one.
            from textual.widgets import Static, TextArea

            await pilot.press("3")
            status = app.query_one("#sql-status", Static)
            editor = app.query_one("#editor", TextArea)

            async def run(sql: str) -> None:
                editor.text = sql
                editor.focus()
                await pilot.press("f5")

            await run("SELECT * FROM range(1234) t(i)")
            await wait_until(
                pilot, lambda: "1,234 rows" in text_of(status) or "1234 rows" in text_of(status)
            )
            await run("SELEC 1")
            await wait_until(pilot, lambda: "error" in text_of(status))
            await run("SELECT count(*) FROM range(1000000000000) a")
            await wait_until(
                pilot, lambda: "running" in text_of(status) or "submitting" in text_of(status)
            )
            await pilot.pause(1.0)
            await pilot.press("ctrl+k")
            await wait_until(pilot, lambda: "cancelled" in text_of(status), timeout=30)
        assert opened.get("engine") is None  # it started no engine of its own
    finally:
        remote.close()
    # Nothing of the console's opened or made a database on the client's side.
    assert not (tmp_path / "client" / "sadeem.db").exists()
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, "sql", "-w",
         "console_ws", "--history", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    states = sorted(h["state"] for h in json.loads(done.stdout))
    assert states == ["cancelled", "failed", "succeeded"]
