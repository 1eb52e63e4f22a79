"""`sadeem demo`: the demo workspace with real bronze, silver and gold tables."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo", parents=[common], help="create the demo workspace and build its tables"
    )
    p.add_argument("--name", default="demo", help="workspace name (default demo)")
    p.set_defaults(handler=run_demo)


def run_demo(cli: Cli) -> None:
    import sys

    from engine.cli.output import emit

    def say(message: str) -> None:
        if not cli.json:
            print(f"  {message}", file=sys.stderr)

    result = cli.services.demo.run(cli.actor, cli.args.name, progress=say)
    emit(
        cli,
        [{"table": t, "rows": n} for t, n in result.tables.items()] if not cli.json else result,
        ["table", "rows"],
    )
