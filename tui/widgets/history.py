"""Query history: search your past statements in this workspace and re-open one."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, get_current_worker

from engine.text import plain
from tui.markup import escape
from tui.session import Session


class HistoryScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="history.close"),
        Binding("enter", "open", "Open in a tab", id="history.open"),
    ]

    class Found(Message):
        """The statements a search found (dropped if a newer search replaced it)."""

        def __init__(self, worker: Worker[None], rows: list[Any]) -> None:
            super().__init__()
            self.worker = worker
            self.rows = rows

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
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

    # Enter is taken by the widget in focus before the screen's binding sees it: the table
    # selects its row, the search field submits. Both open the statement highlighted.
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, exclusive=True, group="search")
    def search(self, text: str) -> None:
        """Statements holding `text`, newest first; a newer search cancels this one."""
        worker = get_current_worker()
        session = self.session
        rows = session.s.sql.history(
            session.actor, workspace=session.workspace, search=text or None, limit=200
        )
        self.post_message(self.Found(worker, rows))

    @on(Found)
    def _found(self, message: Found) -> None:
        if not message.worker.is_cancelled:  # typed on meanwhile: that search shows
            self._show(message.rows)

    def _show(self, rows: list[Any]) -> None:
        table: DataTable[Any] = self.query_one(DataTable)
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
                # A str cell is markup to DataTable; a statement is not.
                escape(plain(" ".join(h.sql.split())[:100])),
                key=key,
            )

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.dismiss(self._rows.get(key) if key is not None else None)

    def action_close(self) -> None:
        self.dismiss(None)
