"""Health: every connection and the embedded defaults, refreshed in the background."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.panes.base import ListPane

REFRESH_SECONDS = 30


class HealthPane(ListPane):
    TITLE = "Health"
    KEY = "health"
    COLUMNS = ("name", "type", "status", "latency", "version", "last error")
    BINDINGS = [Binding("r", "refresh", "Check now")]

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(REFRESH_SECONDS, self.reload)

    def load(self) -> Any:
        return self.ctx.s.health.check_all(self.ctx.actor)

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        self.app._set_health(sum(h.ok for h in data), len(data))  # type: ignore[attr-defined]
        return [
            (
                h.name,
                [
                    h.name,
                    h.type,
                    "[green]ok[/]" if h.ok else f"[red]{h.error_kind}[/]",
                    f"{h.latency_ms:.0f} ms" if h.latency_ms is not None else None,
                    h.version,
                    None if h.ok else h.detail[:80],
                ],
            )
            for h in data
        ]

    def action_refresh(self) -> None:
        self.reload()
