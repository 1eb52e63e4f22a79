"""`sadeem workspace ...`: tenants and their members."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

COLUMNS = ["name", "bucket", "prefix", "layers", "archived", "created_by", "description"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("workspace", aliases=["ws"], help="workspaces and members")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")

    create = verbs.add_parser("create", parents=[common], help="register a workspace")
    create.add_argument("name")
    _defaults_options(create)
    create.add_argument("--bucket")
    create.add_argument("--prefix")
    create.add_argument("--layers", help="comma-separated, default bronze,silver,gold")
    create.set_defaults(handler=create_ws)

    ls = verbs.add_parser("list", parents=[common], help="workspaces you can see")
    ls.add_argument("--all", action="store_true", help="include archived workspaces")
    ls.set_defaults(handler=list_ws)

    show = verbs.add_parser("show", parents=[common], help="one workspace with its members")
    show.add_argument("name")
    show.set_defaults(handler=show_ws)

    update = verbs.add_parser("update", parents=[common], help="description, defaults")
    update.add_argument("name")
    _defaults_options(update)
    update.set_defaults(handler=update_ws)

    archive = verbs.add_parser("archive", parents=[common], help="archive (read-only) a workspace")
    archive.add_argument("name")
    archive.set_defaults(handler=archive_ws)

    members = verbs.add_parser("members", parents=[common], help="members and roles")
    members.add_argument("name")
    members.set_defaults(handler=list_members)

    prov = verbs.add_parser(
        "provision", parents=[common], help="show what the workspace needs; --apply creates it"
    )
    prov.add_argument("name")
    prov.add_argument("--apply", action="store_true", help="create what is missing")
    prov.set_defaults(handler=provision_ws)

    check = verbs.add_parser(
        "check", parents=[common], help="separation check (all workspaces without NAME)"
    )
    check.add_argument("name", nargs="?")
    check.set_defaults(handler=check_ws)

    member = verbs.add_parser("member", help="add, change or remove a member")
    mverbs = member.add_subparsers(dest="member_verb", metavar="VERB")
    add = mverbs.add_parser("add", parents=[common], help="add a member or change a role")
    add.add_argument("name")
    add.add_argument("username")
    add.add_argument("role", choices=["owner", "editor", "runner", "viewer"])
    add.set_defaults(handler=add_member)
    remove = mverbs.add_parser("remove", parents=[common], help="remove a member")
    remove.add_argument("name")
    remove.add_argument("username")
    remove.set_defaults(handler=remove_member)


def _defaults_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--description")
    p.add_argument("--storage-connection", help="s3 connection for the workspace's storage")
    p.add_argument("--catalog-connection", help="iceberg connection for its catalog")
    p.add_argument("--sql-connection", help="trino/duckdb connection for its SQL")


def create_ws(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    ws = cli.services.workspaces.create(
        cli.actor,
        a.name,
        description=a.description or "",
        bucket=a.bucket,
        prefix=a.prefix,
        layers=[x.strip() for x in a.layers.split(",")] if a.layers else None,
        storage_connection=a.storage_connection,
        catalog_connection=a.catalog_connection,
        sql_connection=a.sql_connection,
    )
    emit(cli, ws)


def list_ws(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.workspaces.list(cli.actor, include_archived=cli.args.all), COLUMNS)


def show_ws(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.workspaces.get(cli.actor, cli.args.name))


def update_ws(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(
        cli,
        cli.services.workspaces.update(
            cli.actor,
            a.name,
            description=a.description,
            storage_connection=a.storage_connection,
            catalog_connection=a.catalog_connection,
            sql_connection=a.sql_connection,
        ),
    )


def archive_ws(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.workspaces.archive(cli.actor, cli.args.name))


def list_members(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.workspaces.members(cli.actor, cli.args.name), ["username", "role"])


def add_member(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(cli, cli.services.workspaces.add_member(cli.actor, a.name, a.username, a.role))


def remove_member(cli: Cli) -> None:
    from engine.cli.output import emit

    cli.services.workspaces.remove_member(cli.actor, cli.args.name, cli.args.username)
    emit(cli, {"removed": cli.args.username, "workspace": cli.args.name})


def provision_ws(cli: Cli) -> int:
    from engine.cli.output import emit

    svc = cli.services.provisioning
    plan = (svc.apply if cli.args.apply else svc.plan)(cli.actor, cli.args.name)
    emit(cli, plan.steps if not cli.json else plan, ["kind", "target", "state", "detail"])
    return 0 if plan.complete or not cli.args.apply else 1


def check_ws(cli: Cli) -> int:
    import sys

    from engine.cli.output import emit

    found = cli.services.separation.check(cli.actor, cli.args.name)
    emit(cli, found, ["kind", "workspace", "subject", "detail"])
    if not cli.json:
        print(f"{len(found)} violation(s)", file=sys.stderr)
    return 1 if found else 0
