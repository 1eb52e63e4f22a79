"""Query history: search your past statements in this workspace and re-open one."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static


class HistoryScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "open", "Open in a tab")]

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self._rows: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield Static("[b]History[/b]  type to search, Enter opens, Esc closes")
            yield Input(placeholder="search", id="history-search")
            yield DataTable(cursor_type="row", id="history-table")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("when", "state", "rows", "ms", "sql")
        self.search("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def search(self, text: str) -> None:
        def job() -> None:
            rows = self.ctx.s.sql.history(
                self.ctx.actor, workspace=self.ctx.workspace, search=text or None, limit=200
            )
            self.app.call_from_thread(self._show, rows)

        self.run_worker(job, thread=True, exclusive=True)

    def _show(self, rows: list[Any]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self._rows = {}
        for h in rows:
            key = str(h.id)
            self._rows[key] = h.sql
            table.add_row(
                h.started_at.strftime("%m-%d %H:%M:%S"),
                h.state,
                h.rows,
                h.duration_ms,
                " ".join(h.sql.split())[:100],
                key=key,
            )

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.dismiss(self._rows.get(key))

    def action_close(self) -> None:
        self.dismiss(None)
