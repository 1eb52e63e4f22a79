"""`sadeem token create|list|revoke`: personal access tokens for the engine's HTTP API."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

COLUMNS = ["id", "name", "username", "read_only", "created_at", "expires_at", "revoked_at"]
_DURATION = re.compile(r"(\d{1,6})([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("token", help="personal access tokens for the HTTP API")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    create = verbs.add_parser("create", parents=[common], help="a new token, shown once")
    create.add_argument("--name", default="", help="what it is for")
    create.add_argument("--expires", help="lifetime: 30d, 12h, 90m (default: never)")
    # `--read-only` (every command's) here makes a read-only token: a read-only session may
    # make one, since the token can do no more than the session that made it.
    create.set_defaults(handler=create_token)
    ls = verbs.add_parser("list", parents=[common], help="your tokens (never the token itself)")
    ls.add_argument("--all", action="store_true", help="every user's (platform admins)")
    ls.set_defaults(handler=list_tokens)
    revoke = verbs.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=revoke_token)


def parse_duration(text: str) -> int:
    from engine.errors import ValidationError

    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValidationError(f"{text!r}: expected a number and s, m, h or d (30d)", "--expires")
    return int(match[1]) * _UNIT[match[2]]


def create_token(cli: Cli) -> None:
    import sys

    from engine.cli.output import emit

    a = cli.args
    made = cli.services.tokens.create(
        cli.actor,
        name=a.name,
        expires_in_s=parse_duration(a.expires) if a.expires else None,
        read_only=cli.settings.read_only,
    )
    if cli.json:
        emit(cli, {"token": made.token, **_row(made.view)})
        return
    emit(cli, made.view)
    print(f"token: {made.token}")
    print("it is shown this once; send it as Authorization: Bearer <token>", file=sys.stderr)


def _row(view):
    from engine.cli.output import to_data

    return to_data(view)


def list_tokens(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.tokens.list(cli.actor, all_users=cli.args.all), COLUMNS)


def revoke_token(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.tokens.revoke(cli.actor, cli.args.token_id))
