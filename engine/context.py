"""Who is acting, and through which door (console, CLI, scheduler)."""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("tui", "cli", "scheduler", "engine", "test")


@dataclass(frozen=True)
class Actor:
    """The acting user of one service call; every audit event names it."""

    username: str
    source: str = "cli"
