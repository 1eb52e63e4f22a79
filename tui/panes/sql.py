"""The SQL editor: tabs that survive restarts, the statement under the cursor (or the
selection) run in a worker with progress and cancel, results in an Arrow-backed grid that
renders lazily, export, searchable history, catalog name completion, positioned errors."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher, ProgressBar, Static, Tab, Tabs, TextArea
from textual.worker import Worker, get_current_worker

from engine.errors import QueryCancelled, QueryError, SadeemError, ValidationError
from engine.sql_analysis import statement_at
from engine.text import plain
from tui.boundary import failure_text
from tui.panes.base import Pane, literal
from tui.session import Session
from tui.state import load_tabs, save_tabs
from tui.widgets.form import FormField, FormScreen
from tui.widgets.grid import GridPlaceholder, show_arrow
from tui.widgets.sql_editor import SqlEditor

MAX_ROWS = 1_000_000
FIRST_ROWS = 10_000  # shown while the rest is fetched, if that takes a while
FIRST_ROWS_AFTER_S = 0.15  # a result complete by then is shown once, whole
_DOTTED = re.compile(r"(?<![\w.])(\w+\.\w+)(?![\w.])")  # NAMESPACE.TABLE in the editor


def offset_of(text: str, location: tuple[int, int]) -> int:
    row, col = location
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:row]) + col


class SqlPane(Pane[None]):
    TITLE = "SQL"
    KEY = "sql"
    BINDINGS = [
        Binding("f5,ctrl+r", "run", "Run statement", priority=True, id="sql.run"),
        Binding("ctrl+k", "cancel", "Cancel query", priority=True, id="sql.cancel"),
        Binding("ctrl+t", "new_tab", "New tab", priority=True, id="sql.new_tab"),
        Binding("ctrl+w", "close_tab", "Close tab", priority=True, id="sql.close_tab"),
        Binding("ctrl+e", "export", "Export results", priority=True, id="sql.export"),
        Binding("ctrl+o", "history", "History", priority=True, id="sql.history"),
        # tmux and xterm send ctrl+space as NUL, which Textual names ctrl+@.
        Binding("ctrl+space,ctrl+@", "complete", "Complete name", priority=True, id="sql.complete"),
        Binding("e", "edit", "Edit (Esc leaves the editor)", id="sql.edit"),
    ]

    class FirstRows(Message):
        """The first FIRST_ROWS rows of a result whose rest is still being fetched."""

        def __init__(self, worker: Worker[None], table: Any) -> None:
            super().__init__()
            self.worker = worker
            self.table = table

    class Finished(Message):
        """A statement (or script) ended: its table, or a status line, or a QueryError."""

        def __init__(
            self,
            worker: Worker[None],
            table: Any = None,
            status: str | None = None,
            error: QueryError | None = None,
        ) -> None:
            super().__init__()
            self.worker = worker
            self.table = table
            self.status = status
            self.error = error

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._tabs: list[str] = [""]
        self._current = 0
        self._query: Any = None  # the statement running now
        self._script: Any = None  # the script it belongs to (ctrl+k stops the rest too)
        self._earlier: list[int] = []  # rows of the script's statements before it
        self._result: Any = None
        # (workspace, its catalog names), loaded on the first completion
        self._names: tuple[str, list[str]] | None = None
        self._tables: dict[str, str | None] = {}  # table -> version, from the listing
        self._columns: dict[str, list[str]] = {}  # table -> its columns, once read
        self._started = 0.0
        self._partial = False  # the grid shows the first rows; the rest is being fetched
        self._early: Any = None  # the timer that will show the first rows
        self._grid_lock = asyncio.Lock()
        self._save_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Tabs(id="sql-tabs")
        # Plain until the tabs are loaded: preparing the SQL highlight query takes ~45 ms,
        # which the first frame must not pay for (SqlEditor then keeps it across loads).
        yield SqlEditor.code_editor("", id="editor", soft_wrap=False)
        with Horizontal(id="sql-status-row"):
            yield ProgressBar(total=100, show_eta=False, id="progress")
            yield Static("Ready. F5 runs the statement under the cursor.", id="sql-status")
        yield GridPlaceholder("No results yet: e edits, F5 runs, ctrl+o history.", id="results")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        data_dir, username = self.session.data_dir, self.session.actor.username
        self.in_thread(lambda: load_tabs(data_dir, username), self._show_tabs)

    def _show_tabs(self, saved: list[str]) -> None:
        editor = self.query_one("#editor", TextArea)
        if editor.text and saved == [""]:
            saved = [editor.text]  # typed into before the file was read
        self._tabs = saved
        tabs = self.query_one(Tabs)
        for i, _ in enumerate(self._tabs):
            tabs.add_tab(Tab(f"query {i + 1}", id=f"t{i}"))
        editor.text = self._tabs[0]
        editor.language = "sql"  # once, with the text in

    def on_show(self) -> None:
        # Not in insert mode: keys stay navigation keys until `e` enters the editor. A late
        # on_show must not steal focus from a pane the operator has already moved to.
        switcher = self.parent
        if isinstance(switcher, ContentSwitcher) and switcher.current == self.id:
            self.focus_results()
        self._names = None  # the catalog may have changed meanwhile: reload on next use

    def focus_results(self) -> None:
        """Focus the results grid; none while a new grid replaces the old one (a moment)."""
        for grid in self.query("#results"):
            grid.focus()

    def action_edit(self) -> None:
        self.query_one("#editor", TextArea).focus()

    def load(self) -> Any:
        return None

    # -- tabs -------------------------------------------------------------------------------

    def _stash(self) -> None:
        self._tabs[self._current] = self.query_one("#editor", TextArea).text
        self.run_worker(self._save_tabs, thread=True, group="tabs")

    def _save_tabs(self) -> None:
        # Each save writes the tabs as they are then, under a lock: the last one wins.
        with self._save_lock:
            save_tabs(self.session.data_dir, self.session.actor.username, list(self._tabs))

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is None or event.tab.id is None:
            return
        index = int(event.tab.id[1:])
        if index == self._current or index >= len(self._tabs):
            return
        self._stash()
        self._current = index
        self.query_one("#editor", TextArea).text = self._tabs[index]

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id == "editor":
            self._tabs[self._current] = event.text_area.text

    def action_new_tab(self, text: str = "") -> None:
        self._stash()
        self._tabs.append(text)
        index = len(self._tabs) - 1
        self.query_one(Tabs).add_tab(Tab(f"query {index + 1}", id=f"t{index}"))
        self.query_one(Tabs).active = f"t{index}"
        self._current = index
        self.query_one("#editor", TextArea).text = text
        self._stash()

    async def action_close_tab(self) -> None:
        if len(self._tabs) == 1:
            self.query_one("#editor", TextArea).text = ""
            self._tabs = [""]
            self._stash()
            return
        tabs = self.query_one(Tabs)
        self._tabs.pop(self._current)
        # The tab in front, set before the tabs are rebuilt: their activations (handled
        # while this waits) switch to the first tab, and read it.
        front = self._current = min(self._current, len(self._tabs) - 1)
        self.query_one("#editor", TextArea).text = self._tabs[front]
        # The old tabs must be gone before the new take their ids (ctrl+w crashed the
        # console with DuplicateIds).
        await tabs.clear()
        for i, _ in enumerate(self._tabs):
            await tabs.add_tab(Tab(f"query {i + 1}", id=f"t{i}"))
        tabs.active = f"t{front}"
        self._stash()

    def insert(self, text: str) -> None:
        editor = self.query_one("#editor", TextArea)
        editor.insert(plain(text))  # a catalog name: the editor would send its ESCs on
        editor.focus()

    # -- running ------------------------------------------------------------------------------

    def _to_run(self) -> tuple[str, int]:
        """The selection (a script of any number of statements), else the statement under
        the cursor; and its offset in the editor's text (errors point from there)."""
        editor = self.query_one("#editor", TextArea)
        text = editor.text
        if editor.selected_text.strip():
            start = min(editor.selection.start, editor.selection.end)
            return editor.selected_text, offset_of(text, start)
        span = statement_at(text, offset_of(text, editor.cursor_location))
        return (text[span[0] : span[1]], span[0]) if span else ("", 0)

    def action_run(self) -> None:
        sql, offset = self._to_run()
        if not sql.strip():
            self.app.notify("nothing to run", severity="warning")
            return
        if self._query is not None:
            self.app.notify("a query is running; ctrl+k cancels it", severity="warning")
            return
        if self.session.workspace is None:
            self.app.notify("no workspace: pick one in Workspaces (1)", severity="warning")
            return
        self._stash()
        self._set_status("submitting…")
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=100, progress=0)
        self._started = time.monotonic()
        self._offset = offset
        self._execute(sql)
        self._ticker = self.set_interval(0.2, self._tick)

    @work(thread=True, exclusive=True, group="query")
    def _execute(self, sql: str) -> None:
        """Run the statements in turn; the grid shows the last one's result and the status
        line how many rows each earlier one gave (`3 statements: #1 1 rows, ...`)."""
        worker = get_current_worker()
        self._earlier = []
        try:
            script = self.session.s.sql.script(self.session.actor, self.session.workspace, sql)
            self._script = script
            for query in script:
                self._query = query
                if query.where.index < query.where.count:
                    self._earlier.append(self._count(query))
                    continue
                table = self._read(worker, query)
        except QueryCancelled:
            self.post_message(self.Finished(worker, status="cancelled"))
            return
        except QueryError as exc:
            self.post_message(self.Finished(worker, error=exc))
            return
        except SadeemError as exc:
            self.post_message(self.Finished(worker, status=f"error: {exc}"))
            self.app.notify(str(exc), severity="error", timeout=8)
            return
        finally:
            self._script = None
        self.post_message(self.Finished(worker, table))

    @on(FirstRows)
    def _first_rows_arrived(self, message: FirstRows) -> None:
        message.stop()
        if not message.worker.is_cancelled:
            self._first_rows_ready(message.table)

    @on(Finished)
    async def _query_finished(self, message: Finished) -> None:
        message.stop()
        if message.worker.is_cancelled:  # the console is quitting
            return
        if message.error is not None:
            await self._failed(message.error)
        else:
            await self._finished(message.table, message.status)

    @staticmethod
    def _count(query: Any) -> int:
        """The rows an earlier statement of a script gives, read up to MAX_ROWS."""
        rows = 0
        for batch in query.batches():
            rows += batch.num_rows
            if rows >= MAX_ROWS:
                break
        query.close()
        return rows

    def _read(self, worker: Worker[None], query: Any) -> Any:
        """The result of the last statement: its first rows shown early, up to MAX_ROWS."""
        table = query.fetch(FIRST_ROWS)
        if table.num_rows == FIRST_ROWS:  # maybe more: show these, then fetch the rest
            self.post_message(self.FirstRows(worker, table))
            import pyarrow as pa

            rest = query.fetch(MAX_ROWS - FIRST_ROWS)
            table = pa.concat_tables([table, rest])  # no copy: the chunks are kept
        query.close()
        return table

    def _tick(self) -> None:
        query = self._query
        if query is None:
            return
        p = query.progress()
        if p.percent is not None:
            self.query_one(ProgressBar).update(progress=p.percent)
        where = query.where
        step = f"{where.label}  " if where is not None and where.count > 1 else ""
        self._set_status(
            f"{step}{p.state.lower()}  {time.monotonic() - self._started:.1f}s  "
            f"rows {p.rows:,}  ctrl+k cancels"
        )

    def _stop_ticker(self) -> None:
        ticker = getattr(self, "_ticker", None)
        if ticker is not None:
            ticker.stop()
        self.query_one(ProgressBar).display = False

    async def _show_grid(self, table: Any, keep_position: bool = False) -> None:
        async with self._grid_lock:  # the first rows' grid may still be going in
            await show_arrow(
                self,
                "results",
                table,
                keep_position=keep_position,
                max_column_content_width=60,
                null_rep="NULL",
            )

    def _first_rows_ready(self, table: Any) -> None:
        """Show the first rows unless the whole result follows soon: building a grid for
        them and then another for the whole costs a fast query ~3x its time to done
        (0.25 s instead of 0.08 s for a million rows here)."""
        self._early = self.set_timer(FIRST_ROWS_AFTER_S, lambda: self._first_rows(table))

    async def _first_rows(self, table: Any) -> None:
        self._early = None
        if self._query is None:
            return  # finished (or failed) meanwhile: that shows instead
        self._result = table
        self._partial = True
        await self._show_grid(table)

    async def _finished(self, table: Any, message: str | None) -> None:
        self._query = None
        self._stop_ticker()
        elapsed = time.monotonic() - self._started
        if self._early is not None:
            self._early.stop()
            self._early = None
        partial, self._partial = self._partial, False
        # What the earlier statements of a script gave: `3 statements: #1 1 rows, #2 0
        # rows; last: ...`, or, when one failed, how many ran before it.
        earlier = self._earlier
        done = ", ".join(f"#{i} {n:,} rows" for i, n in enumerate(earlier, start=1))
        if table is None:
            shown = f"  ({self._result.num_rows:,} rows shown)" if partial else ""
            ran = f"  (ran before it: {done})" if earlier else ""
            self._set_status(f"{message}  ({elapsed:.2f}s){shown}{ran}")
            return
        self._result = table
        await self._show_grid(table, keep_position=partial)
        capped = "  (first 1,000,000 rows)" if table.num_rows >= MAX_ROWS else ""
        summary = f"{len(earlier) + 1} statements: {done}; last: " if earlier else ""
        self._set_status(
            f"{summary}{table.num_rows:,} rows  {elapsed:.2f}s  "
            f"{table.nbytes / 1_048_576:.1f} MiB{capped}"
        )

    async def _failed(self, exc: QueryError) -> None:
        await self._finished(None, f"error: {exc}")
        self.app.notify(str(exc), title="Query failed", severity="error", timeout=10)
        if exc.line is not None:
            # The position counts from the start of what ran (the selection or the
            # statement), which sits at self._offset in the editor.
            editor = self.query_one("#editor", TextArea)
            row = editor.cursor_location[0]
            before = editor.text[: max(self._offset, 0)]
            base_row, base_col = before.count("\n"), len(before) - (before.rfind("\n") + 1)
            col = max((exc.column or 1) - 1, 0) + (base_col if exc.line == 1 else 0)
            target = (base_row + exc.line - 1, col)
            if target[0] < editor.document.line_count:
                editor.cursor_location = target
            else:
                editor.cursor_location = (row, 0)

    def action_cancel(self) -> None:
        query = self._script or self._query  # a script: the statements after it never start
        if query is None:
            return
        self._set_status("cancelling…")
        self.run_worker(query.cancel, thread=True, group="cancel")

    def _set_status(self, text: str) -> None:
        # It carries the engine's error messages, which quote the statement: literal.
        self.query_one("#sql-status", Static).update(literal(text))

    def leave_editor(self) -> bool:
        """Esc in the editor: back to the results grid (True if it was in the editor)."""
        editor = self.query_one("#editor", TextArea)
        if editor.has_focus:
            self.focus_results()
            return True
        return False

    # -- export, history, completion --------------------------------------------------------

    def action_export(self) -> None:
        table = self._result
        if table is None:
            self.app.notify("no results to export", severity="warning")
            return
        from engine.export import write_table

        def submit(values: dict[str, str]) -> Any:
            path = Path(values["path"]).expanduser()
            try:
                rows = write_table(table, path)
            except OSError as exc:  # a missing directory, no permission: under the field
                raise ValidationError(failure_text(exc), field="path") from None
            return f"exported {rows:,} rows to {path}"

        default = str(self.session.output_path("sadeem-results.csv"))
        self.app.push_screen(
            FormScreen(
                "Export results (.csv, .parquet or .json)",
                [FormField("path", "File", default)],
                submit,
                verb="Export",
            ),
            self.answered(reload=False),
        )

    def action_history(self) -> None:
        from tui.widgets.history import HistoryScreen

        def reopen(sql: str | None) -> None:
            if sql:
                self.action_new_tab(sql)

        self.app.push_screen(HistoryScreen(self.session), reopen)

    def _load_names(self, workspace: str) -> tuple[str, list[str], dict[str, str | None]]:
        """Namespaces and tables of the workspace's catalog, for completion: one listing,
        no table's metadata (2,000 tables list in milliseconds; reading each was ~4 ms).

        Loaded on the first ctrl+space, not when the pane opens; columns come per table,
        when one is completed or named in the editor (`_load_columns`)."""
        names: list[str] = []
        tables: dict[str, str | None] = {}
        try:
            for ns, found in self.session.s.catalog.listing(self.session.actor, workspace).items():
                names.append(ns)
                for table, version in found.items():
                    tables[f"{ns}.{table}"] = version
        except SadeemError as exc:
            self.app.notify(f"completion: {exc}", severity="warning")
        names += tables
        # Completion inserts them into the editor, which shows a control as it is.
        names = [plain(n) for n in names]
        return workspace, sorted(set(names)), tables

    def _names_loaded(
        self, workspace: str, names: list[str], tables: dict[str, str | None]
    ) -> None:
        self._names = (workspace, names)
        self._tables = tables
        self._columns = {}
        if workspace == self.session.workspace:
            self.action_complete()  # the word at the cursor now

    def _load_columns(
        self, workspace: str, idents: list[str], complete: bool = True
    ) -> tuple[str, dict[str, list[str]], bool]:
        """Columns of the tables completed or named in the editor (cached per version)."""
        found: dict[str, list[str]] = {}
        for ident in idents:
            try:
                cols = self.session.s.catalog.columns(
                    self.session.actor, ident, self._tables.get(ident)
                )
                found[ident] = [plain(c.name) for c in cols]
            except SadeemError as exc:
                found[ident] = []  # asked once: a missing table is not retried per key
                self.app.notify(f"completion: {exc}", severity="warning")
        return workspace, found, complete

    def _columns_loaded(
        self, workspace: str, found: dict[str, list[str]], complete: bool = True
    ) -> None:
        if self._names is None or self._names[0] != workspace:
            return  # the names were reloaded meanwhile
        self._columns.update(found)
        if complete and workspace == self.session.workspace:
            self.action_complete()

    def _named_tables(self, text: str) -> list[str]:
        """Known tables the editor names whose columns are not held yet (one pass over
        the text, whatever the number of tables)."""
        named = set(_DOTTED.findall(text))
        return sorted(i for i in named if i in self._tables and i not in self._columns)

    def action_complete(self) -> None:
        editor = self.query_one("#editor", TextArea)
        row, col = editor.cursor_location
        line = editor.document.get_line(row)[:col]
        word = ""
        for ch in reversed(line):
            if ch.isalnum() or ch in "._":
                word = ch + word
            else:
                break
        if not word or self.session.workspace is None:
            return
        if self._names is None or self._names[0] != self.session.workspace:
            self.app.notify("loading catalog names…", timeout=2)
            workspace = self.session.workspace
            self.in_thread(
                lambda: self._load_names(workspace),
                lambda loaded: self._names_loaded(*loaded),
                group="names",
            )
            return
        missing = self._named_tables(editor.text)
        if missing:
            workspace = self.session.workspace
            self.in_thread(
                lambda: self._load_columns(workspace, missing),
                lambda loaded: self._columns_loaded(*loaded),
                group="columns",
            )
            return
        columns = sorted({c for cols in self._columns.values() for c in cols})
        matches = [n for n in (*self._names[1], *columns) if n.startswith(word)]
        matches = sorted(set(matches))
        if len(matches) == 1:
            editor.insert(matches[0][len(word) :])
            if matches[0] in self._tables and matches[0] not in self._columns:
                # A table just completed: its columns are likely next; read them now.
                workspace, ident = self.session.workspace, matches[0]
                self.in_thread(
                    lambda: self._load_columns(workspace, [ident], complete=False),
                    lambda loaded: self._columns_loaded(*loaded),
                )
        elif matches:
            prefix = matches[0]
            for m in matches[1:]:
                while not m.startswith(prefix):
                    prefix = prefix[:-1]
            if len(prefix) > len(word):
                editor.insert(prefix[len(word) :])
            self.app.notify("  ".join(matches[:12]), title="completions", timeout=4)
        else:
            self.app.notify(f"no catalog name starts with {word!r}", timeout=3)


def preload_splitter() -> None:
    """Load the statement splitter F5 uses (sqlglot), in the background at open: on a
    server the SQL engine warms up over there, and the console's first F5 would otherwise
    import the parser here (a third of a second, counted in its time to first rows)."""
    statement_at("SELECT 1", 0)
