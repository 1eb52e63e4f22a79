"""The console (Pilot) against a real `sadeem engine serve`, as two different OS accounts.

The issue ("Must show"): the console and the CLI against one engine on a Unix socket, as two
OS users; each gets its own role's rights; neither client ever opens the database or reads
the key (the data dir is unreadable to the second account); a viewer's write is refused by
the server. test_socket.py has the CLI as both accounts; here the console's part.

The second account's console runs in a forked child that drops to that account's uid (the
tests' Python lives under /root, which no other account may execute: conftest.as_user). The
same session as root first, in this process, loads every module the console needs, so the
child reads no file under /root after dropping its rights."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.api.conftest import OsUser, Server, _client_env, as_user

PERMISSION_DENIED = 4  # README, "CLI"


def _sadeem(server: Server, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, *argv],
        env=_client_env(server.base),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def team(server: Server, second_user: OsUser) -> OsUser:
    """root (the platform admin: the engine's own account) makes workspace `team` and makes
    the second account a viewer of it, through the socket."""
    for argv in (
        ("workspace", "create", "team"),
        ("workspace", "provision", "team", "--apply"),
        ("user", "create", second_user.name),
        ("workspace", "member", "add", "team", second_user.name, "viewer"),
    ):
        done = _sadeem(server, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    return second_user


def console_session(server_url: str, workspace: str, data_dir: str, who: str) -> dict[str, Any]:
    """Open `sadeem --server URL -w WORKSPACE` as an operator does, drive it with the Pilot,
    and say what it showed: the header, read-only or not, a query's rows, a write's fate in
    the SQL pane; then a write sent straight to the server with the console's own client
    (as a console that ignored its read-only mode would); and which files it held open."""
    from textual.widgets import Static, TextArea

    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from engine.context import Actor
    from engine.errors import SadeemError
    from tests.tui.drive import SIZE, started, text_of, wait_until
    from tui.main import build_console

    cli = Cli(build_parser().parse_args(["--server", server_url, "-w", workspace]))
    app, opened = build_console(cli)
    seen: dict[str, Any] = {}

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            header = app.query_one("#header")
            await wait_until(pilot, lambda: workspace in text_of(header))
            await pilot.pause(0.5)  # the role is applied in a worker; let it land
            seen["header"] = text_of(header)
            seen["read_only"] = app.read_only
            await pilot.press("3")
            status = app.query_one("#sql-status", Static)
            editor = app.query_one("#editor", TextArea)
            write = f"CREATE TABLE {workspace}_bronze.by_{who} AS SELECT 1 AS n"
            for key, sql in (("select", "SELECT 41 + 1 AS n"), ("write", write)):
                before = text_of(status)
                editor.text = sql
                editor.focus()
                await pilot.press("f5")
                await wait_until(
                    pilot,
                    lambda before=before: (
                        text_of(status) != before
                        and any(w in text_of(status) for w in ("row", "error", "refused", "only"))
                    ),
                    timeout=60,
                )
                seen[key] = text_of(status)
            from tests.tui.drive import notices

            seen["notices"] = [str(n) for n in notices(app)]
            cell = app.query("#results")
            seen["grid"] = text_of(cell.first()) if cell else ""

    asyncio.run(drive())
    seen["embedded_engine"] = opened.get("engine") is not None
    try:
        me = cli.services.users.whoami(Actor("", "tui"))
        cli.services.workspaces.update(
            Actor(me.username, "tui"), workspace, description=f"set by {who}"
        )
        seen["direct_write"] = "ok"
    except SadeemError as exc:
        seen["direct_write"] = f"{type(exc).__name__}: {exc}"
    seen["open_files"] = [
        target
        for fd in os.listdir("/proc/self/fd")
        if (target := _link(f"/proc/self/fd/{fd}")).startswith(data_dir)
    ]
    cli.services.close()
    return seen


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def test_the_console_as_two_os_accounts_each_with_its_role(server, team, client):
    data_dir = str(server.data_dir)
    # root: the platform admin; its console may change things, and its write goes through.
    admin = console_session(server.url, "team", data_dir, "admin")
    assert "user root" in admin["header"] and "READ-ONLY" not in admin["header"], admin
    assert admin["read_only"] is False
    assert "engine daemon" in admin["header"]  # the server's engine, none of its own
    assert admin["embedded_engine"] is False
    assert "1 row" in admin["select"], admin
    assert "error" not in admin["write"] and "only" not in admin["write"], admin
    assert admin["direct_write"] == "ok"
    assert admin["open_files"] == []

    # The second account, in a process of its own uid that cannot read the data dir.
    def viewer() -> int:
        signal.alarm(180)  # never hang the test run
        os.chdir(server.base)
        for name in ("sadeem.db", "secret.key"):
            try:
                open(Path(data_dir) / name, "rb").close()
                print(json.dumps({"readable": name}))
                return 1
            except PermissionError:
                pass
        seen = console_session(server.url, "team", data_dir, "viewer")
        print(json.dumps(seen))
        return 0

    code, out, err = as_user(team, viewer, client.env)
    assert code == 0, (out, err)
    seen = json.loads(out.strip().splitlines()[-1])
    assert f"user {team.name}" in seen["header"], seen
    assert "READ-ONLY" in seen["header"] and seen["read_only"] is True  # a viewer's console
    assert seen["embedded_engine"] is False
    assert "1 row" in seen["select"], seen  # it reads the workspace through the engine
    # The write did not happen: the engine refused it for the viewer's role ...
    assert "1 row" not in seen["write"] and "viewer" in seen["write"], seen
    # ... and a write sent past the console's read-only mode is refused by the server.
    assert seen["direct_write"].startswith("PermissionDenied"), seen
    assert seen["open_files"] == []

    # The engine's record: the admin's change stands, the viewer's refusal is audited as
    # the viewer, through the socket; the table the viewer's console tried to make is not.
    done = _sadeem(server, "workspace", "show", "team", "--json")
    assert json.loads(done.stdout)["description"] == "set by admin"
    done = _sadeem(server, "audit", "list", "--action", "api.refused", "--json")
    assert done.returncode == 0, done.stderr
    refused = [e for e in json.loads(done.stdout) if e["username"] == team.name]
    assert any(e["source"] == "socket" for e in refused), refused
    done = _sadeem(server, "sql", "-w", "team", "-e", "SELECT * FROM team_bronze.by_admin")
    assert done.returncode == 0, done.stderr
    done = _sadeem(server, "sql", "-w", "team", "-e", "SELECT * FROM team_bronze.by_viewer")
    assert done.returncode != 0 and "by_viewer" in done.stderr
    # The CLI as the same account is refused the same write by the server (exit code 4).
    code, _, err = as_user(
        team,
        lambda: __import__("engine.cli.main", fromlist=["main"]).main(
            ["--server", server.url, "workspace", "update", "team", "--description", "cli"]
        ),
        client.env,
    )
    assert code == PERMISSION_DENIED, err
