"""The header line: who, where, who runs the work, queue, health, and READ-ONLY.

Its colours are component classes styled in app.tcss (a line of text cannot take a CSS
class per word); `-read-only` on the widget (set by SadeemApp.read_only) shows the badge."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from engine.text import plain


class StatusHeader(Static):
    COMPONENT_CLASSES = {
        "status-header--ok",  # every connection answered
        "status-header--failing",  # some did not
        "status-header--alarm",  # runs are queued and nobody will run them
        "status-header--read-only",  # the badge
    }

    def paint(
        self,
        *,
        username: str,
        workspace: str | None,
        engine: str,
        alarm: str | None,
        status: dict[str, Any],
        health: tuple[int, int] | None,
    ) -> None:
        """Show the session and the engine's state (names shown as typed)."""
        style = self.get_component_rich_style
        line = Text.assemble(
            ("Sadeem", "bold"),
            "  user ",
            (plain(username), "bold"),
            "  workspace ",
            (plain(workspace or "-"), "bold"),
            f"  engine {engine}",
        )
        if alarm:
            line.append(" ")
            line.append(alarm, style("status-header--alarm", partial=True))
        line.append(f"  queue {status['queue']}  running {status['running']}  health ")
        if health is None:
            line.append("-")
        else:
            ok, total = health
            which = "ok" if ok == total else "failing"
            line.append(f"{ok}/{total} ok", style(f"status-header--{which}", partial=True))
        if self.has_class("-read-only"):
            line.append("  ")
            line.append(" READ-ONLY ", style("status-header--read-only", partial=True))
        self.update(line)
