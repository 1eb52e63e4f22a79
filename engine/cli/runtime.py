"""Running a parsed command: settings, identity, services, errors and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.context import os_username
from engine.errors import PermissionDenied, SadeemError, ValidationError
from engine.text import plain

if TYPE_CHECKING:
    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import Services


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
            "server": getattr(self.args, "server", None),
        }
        config_file = getattr(self.args, "config_file", None)
        from pathlib import Path

        return load_settings(overrides, config_file=Path(config_file) if config_file else None)

    @property
    def remote(self) -> bool:
        """A server is set and the command is not one the engine host runs itself
        (`engine serve` is the server)."""
        return bool(self.settings.server) and not getattr(self.args, "local", False)

    @property
    def services(self) -> Services:
        if self._services is None:
            if self.remote:
                from typing import cast

                from engine.client import RemoteServices

                # The same verbs over the socket; nothing here opens the DB or the key.
                self._services = cast("Services", RemoteServices(self.settings))
            else:
                from engine.wiring import open_services

                self._services = open_services(self.settings)
        return self._services

    @cached_property
    def actor(self) -> Actor:
        """The real uid's OS account (registered on first use), or a local user after a
        password login. Never an environment variable: those are the caller's to set."""
        login = getattr(self.args, "login", None)
        if self.remote:
            # Who acts is the server's to say (the socket's peer); this stands for "me".
            from engine.context import Actor

            if login:
                raise ValidationError(
                    "not with --server: the engine knows you by your OS account", "--login"
                )
            return Actor("", "cli", read_only=self.settings.read_only)
        if self.settings.auth == "password":
            username = login or os_username()
            password = self.login_password(username)
            actor = self.services.users.login(username, password, source="cli")
            return replace(actor, read_only=self.settings.read_only)
        actor = self.os_actor("cli")
        self.services.users.register(actor)
        return actor

    def os_actor(self, source: str) -> Actor:
        """auth = "os": the real uid's account; a login flag is a mistake worth a line."""
        from engine.context import Actor

        if getattr(self.args, "login", None) or getattr(self.args, "login_password_stdin", False):
            raise ValidationError(
                'only with auth = "password"; with auth = "os" you act as your OS account',
                field="--login",
            )
        return Actor(os_username(), source, read_only=self.settings.read_only)

    def login_password(self, username: str) -> str:
        """The login password: stdin's first line with --login-password-stdin, else a prompt
        on the terminal (/dev/tty, so stdin stays free for `--password-stdin` data).

        No environment variable: it would sit in /proc/PID/environ and shell history."""
        if getattr(self.args, "login_password_stdin", False):
            return sys.stdin.readline().rstrip("\n")
        try:
            os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        except OSError:
            raise PermissionDenied(
                "password login needs a terminal; without one, give the password on "
                "standard input with --login-password-stdin"
            ) from None
        import getpass

        return getpass.getpass(f"password for {username}: ")

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
        print(f"error: {plain(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        from engine.errors import from_environment

        known = from_environment(exc)  # a full disk or a lost database is not a bug
        if known is not None:
            print(f"error: {plain(str(known))}", file=sys.stderr)
            return known.exit_code
        print(
            f"error: internal error ({exc.__class__.__name__}); run with --debug for details",
            file=sys.stderr,
        )
        return 70
    finally:
        cli.close()


CONSOLE_ENTRY_POINTS = "sadeem.console"  # pyproject: [project.entry-points."sadeem.console"]


def open_console(cli: Cli) -> int:
    """`sadeem` with no command opens the console, found through its entry point: the engine
    never imports `tui` (a layer contract), so a headless install simply has none."""
    from importlib.metadata import entry_points

    found = entry_points(group=CONSOLE_ENTRY_POINTS, name="console")
    if not found:
        raise SadeemError(
            f"the console is not installed (no {CONSOLE_ENTRY_POINTS!r} entry point): "
            "reinstall Sadeem with `pip install -e .`, or use a command (sadeem --help)"
        )
    run_console = next(iter(found)).load()
    return int(run_console(cli))
