"""Who is acting, and through which door (console, CLI, scheduler, the engine's socket)."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from datetime import datetime

from engine.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    """The acting user of one service call; every audit event names it.

    `read_only`: the session changes nothing (`--read-only`, or a viewer's console); the
    services refuse every changing action from it, whatever the role allows.
    `expires_at`: when the credential of the session ends (an expiring token's)."""

    username: str
    # The door: tui, cli, scheduler, engine, test; `socket` (the engine's Unix socket, the
    # peer's OS account) or `http` (its HTTP API, as a bearer token's user).
    source: str = "cli"
    read_only: bool = False
    # When the credential this actor came with ends (an HTTP token's expiry): what it
    # makes (a token) must not outlive it.
    expires_at: datetime | None = None


def os_username() -> str:
    """The account name of the process's real uid: never $LOGNAME, $USER or any other env,
    which the caller sets at will (`LOGNAME=boss sadeem ...`)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        raise PermissionDenied(
            f"uid {uid} has no account name (no passwd entry); sadeem needs one to know who you are"
        ) from None
