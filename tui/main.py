"""`sadeem` with no command: the console, on an embedded engine unless a daemon runs.

The first screen is drawn before the engine opens: the app opens it in a worker (see
tui/data.py), so start-up costs Textual's own time plus the frame, not the DB's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_console(cli: Any) -> int:
    app, opened = build_console(cli)
    try:
        app.run()
    finally:
        if opened.get("engine") is not None:
            opened["engine"].stop(grace_s=10)
    return 0


def build_console(cli: Any) -> tuple[Any, dict[str, Any]]:
    """The app, and a dict that will hold the embedded engine it starts (to stop it)."""
    from engine.cli.runtime import os_username
    from engine.context import Actor
    from engine.errors import SadeemError
    from tui.app import SadeemApp

    settings = cli.settings
    # A password login asks on the terminal, so it happens before the screen takes over.
    actor = cli.actor if settings.auth == "password" else Actor(os_username(), "tui")
    demo = bool(getattr(cli.args, "demo", False))
    opened: dict[str, Any] = {}

    def opener(progress: Callable[[str], None]) -> tuple[Any, Any]:
        services = cli.services
        if settings.auth != "password":
            services.users.register(actor)
        if demo and not any(w.name == "demo" for w in services.workspaces.list(actor)):
            progress("building the demo workspace (a few seconds)…")
            try:
                services.demo.run(actor, "demo", progress=progress)
            except SadeemError as exc:  # e.g. it exists but this user is not a member
                progress(f"demo workspace: {exc}")
        engine = None
        if services.engine_state.status().lease_holder is None:
            from engine.runner.engine import Engine

            engine = opened["engine"] = Engine(services).start()
        return services, engine

    return SadeemApp(
        None,
        actor,
        getattr(cli.args, "workspace", None),
        read_only=settings.read_only,
        opener=opener,
        data_dir=settings.data_dir,
    ), opened
