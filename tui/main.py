"""`sadeem` with no command: the console, on an embedded engine while no daemon runs
(engine/runner/embedded.py decides, every few seconds, for as long as the console is open).

The first screen is drawn before the engine opens: the app opens it in a worker (see
tui/session.py), so start-up costs Textual's own time plus the frame, not the DB's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# `sadeem --demo` puts this in the first editor tab (when the user has no tabs yet), so the
# first screen shows the demo's gold table and F5 is the only key between it and its rows.
DEMO_QUERY = (
    "SELECT region, tariff, round(sum(total_kwh), 1) AS kwh\n"
    "FROM demo_gold.daily_consumption\n"
    "GROUP BY region, tariff\n"
    "ORDER BY kwh DESC"
)


def run_console(cli: Any, **run_options: Any) -> int:
    """Run the console until it quits (`run_options` go to App.run: tests run it headless)."""
    app, opened = build_console(cli)
    try:
        app.run(**run_options)
    finally:
        if opened.get("engine") is not None:
            opened["engine"].stop(grace_s=10)
    return 0


def build_console(cli: Any) -> tuple[Any, dict[str, Any]]:
    """The app, and a dict that will hold its embedded engine (to stop it on the way out)."""
    from engine.errors import SadeemError
    from tui.app import SadeemApp

    settings = cli.settings
    # A password login asks on the terminal, so it happens before the screen takes over.
    if getattr(cli, "remote", False):
        # The server says who we are (the socket's peer, or the token's user).
        from engine.context import Actor

        me = cli.services.users.whoami(Actor("", "tui"))
        actor = Actor(me.username, "tui", read_only=settings.read_only)
    else:
        actor = cli.actor if settings.auth == "password" else cli.os_actor("tui")
    demo = bool(getattr(cli.args, "demo", False))
    workspace = getattr(cli.args, "workspace", None) or ("demo" if demo else None)
    if demo:
        ready_query(settings.data_dir, actor.username)
    opened: dict[str, Any] = {}

    def opener(progress: Callable[[str], None]) -> tuple[Any, Any]:
        services = cli.services
        if getattr(cli, "remote", False):
            # On a server: the engine knows who we are and runs the runs; nothing opens here.
            return services, None
        if settings.auth != "password":
            services.users.register(actor)
        if demo and not any(w.name == "demo" for w in services.workspaces.list(actor)):
            progress("building the demo workspace (a few seconds)…")
            try:
                services.demo.run(actor, "demo", progress=progress)
            except SadeemError as exc:  # e.g. it exists but this user is not a member
                progress(f"demo workspace: {exc}")
        # Started by the app once it knows the session is not read-only.
        from engine.runner.embedded import EmbeddedEngine

        engine = opened["engine"] = EmbeddedEngine(services)
        return services, engine

    return SadeemApp(
        None,
        actor,
        workspace,
        read_only=settings.read_only,
        opener=opener,
        data_dir=settings.data_dir,
        keymap=dict(settings.keymap),
    ), opened


def ready_query(data_dir: Path, username: str) -> None:
    """Give an operator who has no editor tabs yet the demo query as their first tab."""
    from tui.state import load_tabs, save_tabs

    if load_tabs(data_dir, username) == [""]:
        save_tabs(data_dir, username, [DEMO_QUERY])
