"""`sadeem engine serve|status`: the headless engine."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("engine", help="the headless engine (scheduler + runner)")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    serve = verbs.add_parser(
        "serve", parents=[common], help="run the scheduler and dispatcher until SIGTERM"
    )
    serve.add_argument("--no-schedule", action="store_true", help="execute runs only")
    serve.set_defaults(handler=serve_engine)
    status = verbs.add_parser(
        "status", parents=[common], help="lease holder, heartbeat age, queue depth, running runs"
    )
    status.set_defaults(handler=engine_status)


def serve_engine(cli) -> int:  # type: ignore[no-untyped-def]
    from engine.logs import setup_logging
    from engine.runner.engine import Engine

    setup_logging(cli.settings.log_level, cli.settings.log_format)
    Engine(cli.services, schedule=not cli.args.no_schedule).serve_forever()
    return 0


def engine_status(cli) -> int:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    # Operational counts only; no user registration, so probes never create users.
    status = cli.services.engine_state.status()
    emit(cli, status)
    return 0
