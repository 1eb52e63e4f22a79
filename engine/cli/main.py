"""`sadeem`: the command line. Parsing is stdlib-only so `sadeem --help` stays fast; every
handler imports what it needs when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from engine import __version__

# Command groups, one module each under engine/cli/, each with `register(subparsers, common)`.
GROUPS = (
    "config",
    "db",
    "workspace",
    "connection",
    "user",
    "audit",
    "catalog",
    "sql",
    "demo",
    "job",
    "run",
    "engine_cmd",
)


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after any subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    common.add_argument("--json", action="store_true", default=s, help="machine-readable output")
    common.add_argument("--debug", action="store_true", default=s, help="show tracebacks")
    common.add_argument("--data-dir", default=s, help="data directory (default XDG data dir)")
    common.add_argument("--database-url", default=s, help="metadata DB URL (default SQLite)")
    common.add_argument("--config", dest="config_file", default=s, help="config.toml path")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="sadeem",
        description="Sadeem: operations console and control plane for on-prem lakehouses. "
        "With no command, opens the console.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sadeem {__version__}")
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="open the console in read-only mode",
    )
    parser.add_argument(
        "-w", "--workspace", default=argparse.SUPPRESS, help="workspace the console opens on"
    )
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    for name in GROUPS:
        importlib.import_module(f"engine.cli.{name}").register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from engine.cli.runtime import run

    return run(parser, args)


if __name__ == "__main__":
    sys.exit(main())
