"""`sadeem config show`: the effective settings, secrets masked."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("config", help="show the effective configuration")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    show = verbs.add_parser("show", parents=[common], help="effective settings, secrets masked")
    show.set_defaults(handler=show_config)


def show_config(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    emit(cli, cli.settings.masked())
