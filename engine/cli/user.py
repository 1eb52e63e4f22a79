"""`sadeem user ...`: local users, platform roles, passwords."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

COLUMNS = ["username", "platform_role", "is_active", "has_password", "workspaces"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("user", help="users and platform roles")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")

    create = verbs.add_parser("create", parents=[common], help="add a user")
    create.add_argument("username")
    create.add_argument("--admin", action="store_true", help="platform admin")
    create.add_argument("--display-name", default="")
    create.add_argument(
        "--password-stdin", action="store_true", help="read a login password from standard input"
    )
    create.set_defaults(handler=create_user)

    ls = verbs.add_parser("list", parents=[common], help="all users")
    ls.set_defaults(handler=list_users)

    show = verbs.add_parser("show", parents=[common], help="one user")
    show.add_argument("username")
    show.set_defaults(handler=show_user)

    whoami = verbs.add_parser("whoami", parents=[common], help="the acting user")
    whoami.set_defaults(handler=whoami_user)

    update = verbs.add_parser("update", parents=[common], help="role, active, display name")
    update.add_argument("username")
    update.add_argument("--role", choices=["user", "admin"])
    state = update.add_mutually_exclusive_group()
    state.add_argument("--activate", action="store_true")
    state.add_argument("--deactivate", action="store_true")
    update.add_argument("--display-name")
    update.set_defaults(handler=update_user)

    boot = verbs.add_parser(
        "bootstrap",
        parents=[common],
        help="the first admin of a password site (root or the data dir's owner)",
    )
    boot.add_argument("username")
    boot.add_argument("--password-stdin", action="store_true")
    boot.set_defaults(handler=bootstrap_user)

    passwd = verbs.add_parser("passwd", parents=[common], help="set a password (stdin or prompt)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(handler=passwd_user)


def _read_password(from_stdin: bool) -> str:
    import getpass
    import sys

    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        from engine.errors import ValidationError

        raise ValidationError("the two passwords differ", field="password")
    return first


def create_user(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    actor = cli.actor  # log in first: with --login-password-stdin, its line comes first
    password = _read_password(True) if a.password_stdin else None
    emit(
        cli,
        cli.services.users.create(
            actor,
            a.username,
            platform_role="admin" if a.admin else "user",
            password=password,
            display_name=a.display_name,
        ),
    )


def list_users(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.users.list(cli.actor), COLUMNS)


def show_user(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.users.get(cli.actor, cli.args.username))


def whoami_user(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.users.whoami(cli.actor))


def update_user(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    active = True if a.activate else False if a.deactivate else None
    emit(
        cli,
        cli.services.users.update(
            cli.actor,
            a.username,
            platform_role=a.role,
            active=active,
            display_name=a.display_name,
        ),
    )


def passwd_user(cli: Cli) -> None:
    from engine.cli.output import emit

    cli.services.users.set_password(
        cli.actor, cli.args.username, _read_password(cli.args.password_stdin)
    )
    emit(cli, {"password_set": cli.args.username})


def bootstrap_user(cli: Cli) -> None:
    """No login: nobody can log in yet. The service checks the real uid and the site."""
    import os

    from engine.cli.output import emit

    password = _read_password(cli.args.password_stdin)
    view = cli.services.users.bootstrap(cli.args.username, password, uid=os.getuid())
    emit(cli, view)
