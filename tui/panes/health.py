"""Health: every connection and the embedded defaults, refreshed in the background."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from engine.text import plain
from tui.panes.base import ListPane
from tui.session import abandonable

if TYPE_CHECKING:
    from engine.views import ConnectionHealth

REFRESH_SECONDS = 30


class HealthPane(ListPane["ConnectionHealth"]):
    TITLE = "Health"
    KEY = "health"
    COLUMNS = ("name", "type", "status", "latency", "version", "last error")
    BINDINGS = [Binding("r", "refresh", "Check now", id="health.refresh")]

    LIVE_SECONDS = REFRESH_SECONDS
    COMPONENT_CLASSES = {"check--ok", "check--failed"}  # app.tcss colours them

    class Checked(Message):
        """Every connection was checked: `ok` of `total` answered (the header shows it)."""

        def __init__(self, ok: int, total: int) -> None:
            super().__init__()
            self.ok = ok
            self.total = total

    def load(self) -> Sequence[ConnectionHealth]:
        # Probes wait on remote servers: a quitting console leaves them behind.
        return abandonable(lambda: self.session.s.health.check_all(self.session.actor))

    def show(self, data: Sequence[ConnectionHealth]) -> None:
        self.post_message(self.Checked(sum(h.ok for h in data), len(data)))
        super().show(data)

    def row(self, h: ConnectionHealth) -> tuple[str, list[Any]]:
        return (
            h.name,
            [
                h.name,
                h.type,
                Text("ok", self._style("ok"))
                if h.ok
                else Text(plain(h.error_kind or "error"), self._style("failed")),
                f"{h.latency_ms:.0f} ms" if h.latency_ms is not None else None,
                h.version,
                None if h.ok else h.detail[:80],
            ],
        )

    def _style(self, outcome: str) -> Style:
        return self.get_component_rich_style(f"check--{outcome}", partial=True)

    def action_refresh(self) -> None:
        self.reload()
