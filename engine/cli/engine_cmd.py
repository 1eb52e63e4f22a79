"""`sadeem engine serve|status`: the headless engine."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("engine", help="the headless engine (scheduler + runner)")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    serve = verbs.add_parser(
        "serve", parents=[common], help="run the scheduler and dispatcher until SIGTERM"
    )
    serve.add_argument("--no-schedule", action="store_true", help="execute runs only")
    serve.add_argument(
        "--socket",
        help="serve the API on this Unix socket (default: setting `socket`, SADEEM_SOCKET, "
        "/run/sadeem/engine.sock)",
    )
    serve.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve the API on HTTP too, bearer tokens only (setting `http`; TLS with "
        "`tls_cert` and `tls_key`)",
    )
    serve.add_argument(
        "--no-api", action="store_true", help="run the scheduler and runner only, no socket"
    )
    serve.set_defaults(handler=serve_engine, local=True)  # it is the server: never a client
    status = verbs.add_parser(
        "status", parents=[common], help="lease holder, heartbeat age, queue depth, running runs"
    )
    status.set_defaults(handler=engine_status)


def serve_engine(cli: Cli) -> int:
    from engine.logs import setup_logging
    from engine.runner.engine import Engine

    if cli.settings.read_only:  # the engine runs queued and scheduled runs: they write
        from engine.errors import PermissionDenied

        raise PermissionDenied(
            "read-only session: engine serve executes runs, which change tables, and this "
            "session (--read-only) changes nothing"
        )
    setup_logging(cli.settings.log_level, cli.settings.log_format)
    if cli.args.no_api:
        Engine(cli.services, schedule=not cli.args.no_schedule).serve_forever()
        return 0
    from pathlib import Path

    from engine.api.server import bind_tcp, bind_unix, serve
    from engine.errors import ValidationError

    settings = cli.settings
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValidationError("TLS needs both tls_cert and tls_key", "tls_cert")
    if settings.tls_cert and settings.tls_key:
        check_tls(settings.tls_cert, settings.tls_key)
    path = Path(cli.args.socket or settings.socket)
    address = cli.args.http or settings.http
    services = cli.services  # open (and migrate) the database before anyone can connect
    if settings.auth == "os":
        # The engine's own account is the site's first user, so its admin: were it the
        # first account to connect, any shell user racing the operator after install
        # would become the platform admin.
        from engine.context import Actor, os_username

        services.users.register(Actor(os_username(), "engine"))
    http = bind_tcp(address) if address else None
    sock = bind_unix(path)
    engine = Engine(services, schedule=not cli.args.no_schedule).start()
    try:
        # The API owns the main thread and its SIGTERM/SIGINT; the engine's loops are threads.
        serve(
            services,
            sock,
            http,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
            engine=engine,
            log_level=settings.log_level,
        )
    finally:
        engine.stop()
        sock.close()
        if http is not None:
            http.close()
        with contextlib.suppress(OSError):
            path.unlink()
    return 0


def check_tls(cert: str, key: str) -> None:
    """Load the certificate and key once before listening: a missing, unreadable or
    mismatched file is one line naming it (exit 2), not a failure inside the server."""
    import ssl

    from engine.errors import ValidationError

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:  # before OSError, its base
        reason = "not a PEM certificate and its matching key"
        if exc.reason and exc.reason != "PEM_LIB":
            reason += f" ({exc.reason})"
        raise ValidationError(f"cannot load {cert} with {key}: {reason}", "tls_cert") from None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ValidationError(f"cannot load {cert} with {key}: {reason}", "tls_cert") from None


def engine_status(cli: Cli) -> int:
    from engine.cli.output import emit

    # Operational counts only; no user registration, so probes never create users.
    status = cli.services.engine_state.status()
    emit(cli, status)
    return 0
