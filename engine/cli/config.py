"""`sadeem config show`: the effective settings, secrets masked."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("config", help="show the effective configuration")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    show = verbs.add_parser("show", parents=[common], help="effective settings, secrets masked")
    show.set_defaults(handler=show_config)


def show_config(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.settings.masked())
