"""`sadeem connection ...`: validated configs for external systems.

Secret fields are best given as references (`--set secret_key=env:S3_SECRET`) or read from
standard input with `--secret-stdin FIELD`, so clear values never sit in shell history.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

COLUMNS = ["name", "type", "workspace", "description"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("connection", aliases=["conn"], help="connections to external systems")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")

    create = verbs.add_parser("create", parents=[common], help="add a connection")
    create.add_argument("name")
    create.add_argument(
        "--type",
        required=True,
        help="a connection type: `sadeem connection types` lists them and their fields",
    )
    create.add_argument("-w", "--workspace", help="owning workspace (default: platform-wide)")
    _config_options(create)
    create.set_defaults(handler=create_conn)

    update = verbs.add_parser("update", parents=[common], help="change config fields")
    update.add_argument("name")
    _config_options(update)
    update.add_argument("--unset", action="append", metavar="FIELD", help="remove a field")
    update.set_defaults(handler=update_conn)

    delete = verbs.add_parser("delete", parents=[common], help="remove an unused connection")
    delete.add_argument("name")
    delete.set_defaults(handler=delete_conn)

    ls = verbs.add_parser("list", parents=[common], help="connections you can see")
    ls.add_argument("-w", "--workspace")
    ls.set_defaults(handler=list_conn)

    show = verbs.add_parser("show", parents=[common], help="one connection, secrets masked")
    show.add_argument("name")
    show.set_defaults(handler=show_conn)

    test = verbs.add_parser("test", parents=[common], help="reachability, auth, version")
    test.add_argument("name", nargs="?", help="default: every connection and the embedded ones")
    test.set_defaults(handler=test_conn)

    types = verbs.add_parser("types", parents=[common], help="connection types and their fields")
    types.set_defaults(handler=list_types)


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a config field")
    p.add_argument(
        "--secret-stdin", metavar="FIELD", help="read this secret field's value from standard input"
    )
    p.add_argument("--description")


def _config(cli: Cli) -> dict:

    from engine.cli.output import parse_assignments

    config: dict = parse_assignments(cli.args.set)
    if cli.args.secret_stdin:
        from engine.cli.inputs import read_line

        config[cli.args.secret_stdin] = read_line("--secret-stdin")
    return config


def create_conn(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(
        cli,
        cli.services.connections.create(
            cli.actor,
            a.name,
            a.type,
            _config(cli),
            workspace=a.workspace,
            description=a.description or "",
        ),
    )


def update_conn(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(
        cli,
        cli.services.connections.update(
            cli.actor,
            a.name,
            _config(cli),
            description=a.description,
            unset=a.unset or (),
        ),
    )


def delete_conn(cli: Cli) -> None:
    from engine.cli.output import emit

    cli.services.connections.delete(cli.actor, cli.args.name)
    emit(cli, {"deleted": cli.args.name})


def list_conn(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.connections.list(cli.actor, cli.args.workspace), COLUMNS)


def show_conn(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.connections.get(cli.actor, cli.args.name))


def list_types(cli: Cli) -> None:
    from engine.backends import kinds
    from engine.cli.output import emit

    rows = [
        {
            "type": kind.name,
            "role": kind.role,
            "field": f.name,
            "kind": f.kind,
            "required": f.required,
            "default": f.default,
            "secret": f.secret,
            "help": f.help,
        }
        for kind in kinds.all_kinds().values()
        for f in kind.all_fields
    ]
    emit(cli, rows, ["type", "role", "field", "kind", "required", "default", "secret", "help"])


HEALTH_COLUMNS = ["name", "type", "ok", "latency_ms", "version", "error_kind", "detail"]


def test_conn(cli: Cli) -> int:
    from engine.cli.output import emit

    health = cli.services.health
    if cli.args.name:
        result = health.test(cli.actor, cli.args.name)
        emit(cli, result)
        return 0 if result.ok else 6
    results = health.check_all(cli.actor)
    emit(cli, results, HEALTH_COLUMNS)
    return 0 if all(r.ok for r in results) else 6
