"""`sadeem` with no command: the console, on an embedded engine unless a daemon runs."""

from __future__ import annotations

from typing import Any


def run_console(cli: Any) -> int:
    from engine.runner.engine import Engine
    from tui.app import SadeemApp

    services = cli.services
    actor = cli.actor
    if getattr(cli.args, "demo", False):
        try:
            services.workspaces.get(actor, "demo")
        except Exception:
            print("building the demo workspace (about 3 s)…")
            services.demo.run(actor, "demo", progress=lambda m: print(f"  {m}"))
    engine = None
    if services.engine_state.status().lease_holder is None:
        engine = Engine(services).start()
    try:
        app = SadeemApp(
            services,
            actor,
            getattr(cli.args, "workspace", None),
            read_only=cli.settings.read_only,
            engine=engine,
        )
        app.run()
    finally:
        if engine is not None:
            engine.stop(grace_s=10)
    return 0
