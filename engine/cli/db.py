"""`sadeem db upgrade|downgrade|current`: the metadata database schema."""

from __future__ import annotations

import argparse


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


def _database(cli):  # type: ignore[no-untyped-def]
    from engine.db import Database

    cli.settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(cli.settings.effective_database_url)


def upgrade(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit
    from engine.db import current_revision

    db = _database(cli)
    try:
        db.upgrade(cli.args.revision)
        emit(cli, {"revision": current_revision(db.engine)})
    finally:
        db.dispose()


def downgrade(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit
    from engine.db import current_revision, downgrade

    db = _database(cli)
    try:
        downgrade(db.engine, cli.args.revision)
        emit(cli, {"revision": current_revision(db.engine)})
    finally:
        db.dispose()


def current(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit
    from engine.db import current_revision, head_revision

    db = _database(cli)
    try:
        emit(cli, {"revision": current_revision(db.engine), "head": head_revision()})
    finally:
        db.dispose()
