"""Running a parsed command: settings, identity, services, errors and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.errors import SadeemError

if TYPE_CHECKING:
    from engine.app import Services
    from engine.context import Actor
    from engine.settings import Settings


def os_username() -> str:
    import getpass

    return getpass.getuser()


class Cli:
    """What a handler gets: parsed args, settings, services and the acting user, lazily."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self._services: Services | None = None

    @cached_property
    def settings(self) -> Settings:
        from engine.settings import load_settings

        overrides: dict[str, Any] = {
            "data_dir": getattr(self.args, "data_dir", None),
            "database_url": getattr(self.args, "database_url", None),
            "read_only": True if getattr(self.args, "read_only", False) else None,
        }
        config_file = getattr(self.args, "config_file", None)
        from pathlib import Path

        return load_settings(overrides, config_file=Path(config_file) if config_file else None)

    @property
    def services(self) -> Services:
        if self._services is None:
            from engine.app import open_engine

            self._services = open_engine(self.settings)
        return self._services

    @cached_property
    def actor(self) -> Actor:
        """The OS user (registered on first use), or a local user after a password login."""
        from engine.context import Actor

        if self.settings.auth == "password":
            username = os.environ.get("SADEEM_USER") or os_username()
            password = os.environ.get("SADEEM_PASSWORD")
            if password is None:
                if not sys.stdin.isatty():
                    raise SadeemError("password login: set SADEEM_PASSWORD or use a terminal")
                import getpass

                password = getpass.getpass(f"password for {username}: ")
            return self.services.users.login(username, password, source="cli")
        actor = Actor(os_username(), "cli")
        self.services.users.register(actor)
        return actor

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    cli = Cli(args)
    try:
        if handler is None:
            if getattr(args, "group", None):
                parser.parse_args([args.group, "--help"])
            return open_console(cli)
        code = handler(cli)
        return int(code or 0)
    except SadeemError as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(
            f"error: internal error ({exc.__class__.__name__}); run with --debug for details",
            file=sys.stderr,
        )
        return 70
    finally:
        cli.close()


def open_console(cli: Cli) -> int:
    """`sadeem` with no command opens the console (help until the console exists)."""
    try:
        from tui.main import run_console
    except ImportError:
        from engine.cli.main import build_parser

        build_parser().print_help()
        return 0
    return run_console(cli)
