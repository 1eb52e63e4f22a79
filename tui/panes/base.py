"""What every pane shares: a title, a reload in a worker, `/` filtering, read-only guard."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from textual.containers import Vertical
from textual.widgets import DataTable, Static

from engine.errors import SadeemError


class Pane(Vertical):
    """A full-screen view. Subclasses load data in `load()` (runs in a thread)."""

    TITLE = ""
    KEY = ""

    @property
    def ctx(self) -> Any:
        return self.app.ctx  # type: ignore[attr-defined]

    def on_show(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._load_in_thread, thread=True, exclusive=True, group="load")

    def _load_in_thread(self) -> None:
        try:
            data = self.load()
        except SadeemError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.show, data)

    def load(self) -> Any:
        return None

    def show(self, data: Any) -> None:
        pass

    def apply_filter(self, text: str) -> None:
        pass

    def in_thread(
        self,
        fn: Callable[[], Any],
        then: Callable[[Any], None] | None = None,
        success: str | None = None,
    ) -> None:
        """Run `fn` in a worker; errors become notifications; `then(result)` on the UI."""

        def job() -> None:
            try:
                result = fn()
            except SadeemError as exc:
                self.app.call_from_thread(self.app.notify, str(exc), severity="error", timeout=8)
                return
            if success:
                self.app.call_from_thread(self.app.notify, success)
            if then is not None:
                self.app.call_from_thread(then, result)

        self.run_worker(job, thread=True)

    def may_change(self) -> bool:
        """False (with a notice) in read-only mode or for roles that allow no change."""
        if self.app.read_only:  # type: ignore[attr-defined]
            self.app.notify("read-only: this console changes nothing", severity="warning")
            return False
        return True


class ListPane(Pane):
    """A table of resources with the same verbs everywhere; rows filterable with `/`."""

    COLUMNS: Sequence[str] = ()
    ENTER_ACTION: str | None = None  # what Enter on a row does (DataTable consumes Enter)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[tuple[str, list[Any]]] = []
        self._filter = ""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self.TITLE, classes="pane-title")
        table = DataTable(cursor_type="row", zebra_stripes=True, id=f"{self.id}-table")
        yield table

    def on_mount(self) -> None:
        self.table.add_columns(*self.COLUMNS)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        """(row key, cells) for the loaded data."""
        return []

    def show(self, data: Any) -> None:
        self._rows = self.rows(data)
        self._render_rows()

    def _render_rows(self) -> None:
        table = self.table
        selected = self.selected_key()
        table.clear()
        needle = self._filter.lower()
        for key, cells in self._rows:
            if needle and not any(needle in str(c).lower() for c in cells):
                continue
            table.add_row(*[("-" if c is None else c) for c in cells], key=key)
        if selected is not None:
            with contextlib.suppress(Exception):  # the row went away (filtered or deleted)
                table.move_cursor(row=table.get_row_index(selected))

    def apply_filter(self, text: str) -> None:
        self._filter = text
        self._render_rows()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.ENTER_ACTION and event.data_table is self.table:
            getattr(self, f"action_{self.ENTER_ACTION}")()

    def selected_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
