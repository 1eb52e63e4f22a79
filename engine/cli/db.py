"""`sadeem db upgrade|downgrade|current`: the metadata database schema."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("db", help="metadata database schema")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    up = verbs.add_parser("upgrade", parents=[common], help="migrate to a revision (head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=upgrade)
    down = verbs.add_parser("downgrade", parents=[common], help="migrate back to a revision")
    down.add_argument("revision")
    down.set_defaults(handler=downgrade)
    cur = verbs.add_parser("current", parents=[common], help="the schema revision in use")
    cur.set_defaults(handler=current)


def _database(cli: Cli, changes: bool = True):
    from engine.db import Database
    from engine.errors import PermissionDenied

    if changes and cli.settings.read_only:  # no actor yet: the schema may not exist
        raise PermissionDenied(
            f"read-only session: db {cli.args.verb} changes the metadata database's schema, "
            "and this session (--read-only) changes nothing"
        )

    cli.settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(cli.settings.effective_database_url)


def upgrade(cli: Cli) -> None:
    from engine.cli.output import emit
    from engine.db import current_revision

    db = _database(cli)
    try:
        db.upgrade(cli.args.revision)
        emit(cli, {"revision": current_revision(db.engine)})
    finally:
        db.dispose()


def downgrade(cli: Cli) -> None:
    from engine.cli.output import emit
    from engine.db import current_revision, downgrade

    db = _database(cli)
    try:
        downgrade(db.engine, cli.args.revision)
        emit(cli, {"revision": current_revision(db.engine)})
    finally:
        db.dispose()


def current(cli: Cli) -> None:
    from engine.cli.output import emit
    from engine.db import current_revision, head_revision

    db = _database(cli, changes=False)
    try:
        emit(cli, {"revision": current_revision(db.engine), "head": head_revision()})
    finally:
        db.dispose()
