"""`sadeem`: the command line. Parsing is stdlib-only so `sadeem --help` stays fast; every
handler imports what it needs when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

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
    "token",
    "login",
)


class Parser(argparse.ArgumentParser):
    """argparse, with a refused argument reported as one line (exit 2) like every other
    error, instead of the usage block followed by the message."""

    def error(self, message: str) -> NoReturn:
        from engine.text import plain  # the message quotes what was typed: controls and all

        self.exit(2, f"error: {self.prog}: {plain(message)} (see --help)\n")


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after any subcommand."""
    common = Parser(add_help=False)
    s = argparse.SUPPRESS
    common.add_argument("--json", action="store_true", default=s, help="machine-readable output")
    common.add_argument("--debug", action="store_true", default=s, help="show tracebacks")
    common.add_argument("--data-dir", default=s, help="data directory (default XDG data dir)")
    common.add_argument("--database-url", default=s, help="metadata DB URL (default SQLite)")
    common.add_argument("--config", dest="config_file", default=s, help="config.toml path")
    common.add_argument(
        "--server",
        default=s,
        help="a shared engine, unix:/run/sadeem/engine.sock (SADEEM_SERVER, setting `server`): "
        "this process then never opens the database or reads a secret",
    )
    common.add_argument(
        "--login", default=s, help='auth = "password": log in as this user (default: OS account)'
    )
    common.add_argument(
        "--login-password-stdin",
        action="store_true",
        default=s,
        help="read the login password from the first line of standard input",
    )
    common.add_argument(
        "--read-only",
        action="store_true",
        default=s,
        help="change nothing: the engine refuses every changing command (and console key)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = Parser(
        prog="sadeem",
        description="Sadeem: operations console and control plane for on-prem lakehouses. "
        "With no command, opens the console.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sadeem {__version__}")
    parser.add_argument(
        "-w", "--workspace", default=argparse.SUPPRESS, help="workspace the console opens on"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="build the demo workspace if it is missing, then open the console on it",
    )
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    for name in GROUPS:
        importlib.import_module(f"engine.cli.{name}").register(sub, common)
    return parser


def pause_gc_while_starting(seconds: float = 1.0) -> None:
    """No garbage collection during the first second of a command, then the objects made by
    then frozen out of every later collection.

    Starting a command imports SQLAlchemy's ORM, pyarrow, DuckDB and sqlglot: hundreds of
    thousands of long-lived objects and no garbage, yet each growth of them triggers a
    collection that scans them all, ~15% of the CPU `sadeem sql -e` spent before its
    statement ran. A command that runs on (the engine, the console, a long query) gets
    the collector back after `seconds`."""
    import gc
    import threading

    def resume() -> None:
        gc.freeze()  # startup's objects live as long as the process: not worth a scan
        gc.enable()

    gc.disable()
    timer = threading.Timer(seconds, resume)
    timer.daemon = True
    timer.start()


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the `sadeem` process itself; a caller's own process is left alone
        pause_gc_while_starting()
    from engine.cli.job import join_arg_values

    parser = build_parser()
    args = parser.parse_args(join_arg_values(sys.argv[1:] if argv is None else list(argv)))
    from engine.cli.inputs import check_argv_text
    from engine.errors import ValidationError

    try:
        check_argv_text(args)
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)  # names the option, never echoes the value
        return exc.exit_code
    from engine.cli.runtime import run

    return run(parser, args)


if __name__ == "__main__":
    sys.exit(main())
