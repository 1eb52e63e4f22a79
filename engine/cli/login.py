"""`sadeem login`: a password login to an https:// engine (auth = "password"), whose
short-lived token is written to the client's token file (mode 0600)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    login = sub.add_parser(
        "login",
        parents=[common],
        help='log in to an https:// engine (auth = "password"); its token goes to token_file',
        description="Asks your password on the terminal (--login-password-stdin: the first "
        "line of standard input), as --login NAME (default: your OS account), and writes the "
        "short-lived token the engine gives to token_file (default "
        "$XDG_CONFIG_HOME/sadeem/token), mode 0600. The token is never printed.",
    )
    login.set_defaults(handler=log_in)


def log_in(cli: Cli) -> None:
    from pathlib import Path

    from engine.cli.output import emit
    from engine.client import login, login_offered, parse_server, write_token
    from engine.context import os_username
    from engine.errors import PermissionDenied, ValidationError
    from engine.settings import default_token_file

    settings = cli.settings
    if not settings.server:
        raise ValidationError(
            "login is for a shared engine: give --server https://host:port (or SADEEM_SERVER)",
            "--server",
        )
    parse_server(settings.server)  # a malformed --server is refused before any prompt
    offered = login_offered(settings.server, settings.server_ca)
    if offered.get("auth") != "password":
        raise PermissionDenied(
            f"{settings.server} takes no password logins (its auth is "
            f"{offered.get('auth')!r}): on its socket it knows you by your OS account; over "
            "https ask for a personal access token (`sadeem token create` on the socket) and "
            "set token_file to the file holding it"
        )
    username = getattr(cli.args, "login", None) or os_username()
    password = cli.login_password(username)
    made = login(
        settings.server, settings.server_ca, username, password, read_only=settings.read_only
    )
    path = Path(settings.token_file) if settings.token_file else default_token_file()
    write_token(path, str(made["token"]))
    shown = {
        "username": made["username"],
        "server": settings.server,
        "expires_at": made["expires_at"],
        "read_only": made["read_only"],
        "token_file": str(path),
        "token_id": made["id"],
    }
    if cli.json:
        emit(cli, shown)
        return
    print(
        f"logged in to {settings.server} as {made['username']} until {made['expires_at']}; "
        f"token in {path}"
    )
