"""`sadeem audit list`: who did what, when, from where."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

from engine.cli.inputs import whole

COLUMNS = ["id", "at", "username", "source", "action", "target", "workspace", "details"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("audit", help="the audit trail")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", parents=[common], help="events, newest first")
    ls.add_argument("--user")
    ls.add_argument("-w", "--workspace")
    ls.add_argument("--action", help="an action, or a family ending in '.' (workspace.)")
    ls.add_argument("--since", help="ISO time or date, e.g. 2026-11-24T08:00")
    ls.add_argument("--until", help="ISO time or date (exclusive)")
    ls.add_argument("--limit", type=whole(1), default=200)
    ls.set_defaults(handler=list_audit)


def parse_time(value: str | None, field: str):
    from datetime import UTC, datetime

    from engine.errors import ValidationError

    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not an ISO date or time", field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def list_audit(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(
        cli,
        cli.services.audit.list(
            cli.actor,
            user=a.user,
            workspace=a.workspace,
            action=a.action,
            since=parse_time(a.since, "--since"),
            until=parse_time(a.until, "--until"),
            limit=a.limit,
        ),
        COLUMNS,
    )
