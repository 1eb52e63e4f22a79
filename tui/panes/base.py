"""What every pane shares: a title that shows its filters, a reload in a worker (live
panes on a timer), `/` filtering, and the two rules of what it shows: untrusted text is
literal, changing keys do not exist in read-only.

Work leaves the UI thread in `@work` thread workers, and its answer comes back as a message
(`Pane.Loaded`, `Pane.Done`) that names the worker: the handler, on the UI thread, drops the
answer of a worker that was cancelled meanwhile (a newer load of the same group replaced
it, or the pane went away). Checked there and nowhere else, since a worker's check of its
own `is_cancelled` can pass a moment before the newer load cancels it."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from textual import on, work
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, Static
from textual.worker import Worker, get_current_worker

from engine.errors import SadeemError
from engine.text import plain
from tui.markup import escape
from tui.session import Abandoned, Session

READ_ONLY_NOTICE = "read-only: this console changes nothing"
D = TypeVar("D")  # what a pane's load gives
T = TypeVar("T")  # one row of a list pane


def literal(value: object) -> str:
    """Untrusted text (a name, an error, a value) for a markup string or a table cell:
    controls removed, markup escaped, so `[/b]` shows as typed instead of raising."""
    return escape(plain(str(value)))


@dataclass(frozen=True)
class Change(Binding):
    """A binding whose action changes something (k9s's `Dangerous: true`), declared as
    such where its key is: in read-only it is gone from the footer, `?` and the palette,
    and refused with one notice (ChangeGuard.allows, the one rule)."""


class ChangeGuard:
    """Read-only as a property of bindings: the actions of a node's `Change` bindings are
    its CHANGES, worked out once per class; `allows` is the one rule, asked by Textual for
    the footer (check_action), by `?` and the palette (SadeemApp.offered) and before any
    action runs (SadeemApp.run_action). The engine refuses them too: this only keeps the
    keys honest."""

    CHANGES: ClassVar[frozenset[str]] = frozenset()
    session: Session

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bindings: list[BindingType] = getattr(cls, "BINDINGS", [])
        cls.CHANGES = frozenset(parse(b.action)[1] for b in bindings if isinstance(b, Change))

    def allows(self, action: str) -> bool:
        """False for a changing action in a read-only session."""
        return not (action in self.CHANGES and self.session.read_only)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allows(action)


class Pane(ChangeGuard, Vertical, Generic[D]):
    """A full-screen view. Subclasses load data in `load()` (runs in a thread) and show it
    in `show()` (on the UI thread).

    Filters belong to their pane and are always on show: `/` text and a pane's own
    (`filters()`) are written into its title line by `paint_title`, the one place that
    decides how an active filter looks (Audit once looked empty behind a filter nobody saw).
    LIVE_SECONDS: reload on a timer while the pane is in front (Runs, Jobs)."""

    TITLE = ""
    KEY = ""
    LIVE_SECONDS: float | None = None
    # Some filter is on: the title line carries the `-filtered` class (app.tcss colours it).
    filtered: var[bool] = var(False)

    class Loaded(Message):
        """A load's answer, for the pane whose worker it was."""

        def __init__(self, data: Any, worker: Worker[None]) -> None:
            super().__init__()
            self.data = data
            self.worker = worker

    class Done(Message):
        """The answer of `in_thread(fn, then)`: `then(result)` runs on the UI thread."""

        def __init__(
            self,
            worker: Worker[None],
            result: Any,
            then: Callable[[Any], Any] | None,
            success: str | None,
        ) -> None:
            super().__init__()
            self.worker = worker
            self.result = result
            self.then = then
            self.success = success

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._filter = ""

    def _start_live(self) -> None:
        if self.LIVE_SECONDS:
            self.set_interval(self.LIVE_SECONDS, self._refresh_if_visible)

    def _refresh_if_visible(self) -> None:
        # Not behind a form or the run screen, and not while hidden by the switcher.
        if self.display and self.is_mounted and self.app.screen is self.screen:
            self.reload()

    def on_show(self) -> None:
        self.reload()

    @property
    def filter_text(self) -> str:
        return self._filter

    def filters(self) -> list[str]:
        """The pane's own active filters, as `name=value` (besides the `/` text)."""
        return []

    def paint_title(self) -> None:
        parts = self.filters() + ([f"/{self._filter}"] if self._filter else [])
        title = self.TITLE + (f"  filtered: {'  '.join(parts)}" if parts else "")
        for line in self.query(".pane-title").results(Static):
            line.update(literal(title))
        self.filtered = bool(parts)

    def watch_filtered(self, filtered: bool) -> None:
        for line in self.query(".pane-title"):
            line.set_class(filtered, "-filtered")

    def reload(self) -> None:
        """Load again; a load still under way is cancelled and its answer dropped."""
        self._load()

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        worker = get_current_worker()
        try:
            data = self.load()
        except Abandoned:  # quitting, or a newer load replaced this one
            return
        except SadeemError as exc:
            if not worker.is_cancelled:
                self.app.notify(str(exc), severity="error")
            return
        self.post_message(self.Loaded(data, worker))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        if not message.worker.is_cancelled:  # else a newer load's answer is coming
            self.show(message.data)

    def load(self) -> D | None:
        return None

    def show(self, data: D) -> None:
        pass

    def apply_filter(self, text: str) -> None:
        self._filter = text
        self.paint_title()

    def answered(self, say: str | None = None, *, reload: bool = True) -> Callable[[Any], None]:
        """The callback of a form or confirmation: once it answered (not Esc), say `say`
        (or its answer) and, unless told otherwise, load again."""

        def done(result: Any) -> None:
            if result:
                self.app.notify(say if say is not None else str(result))
                if reload:
                    self.reload()

        return done

    def in_thread(
        self,
        fn: Callable[[], Any],
        then: Callable[[Any], Any] | None = None,
        success: str | None = None,
        *,
        group: str | None = None,
    ) -> None:
        """Run `fn` in a worker; errors become notifications; `then(result)` on the UI
        (awaited if it is a coroutine), unless the worker was cancelled meanwhile. A
        `group` holds one worker at a time: a newer one cancels the one under way (the
        table opened last is the one shown)."""
        self.run_worker(
            partial(self._in_thread, fn, then, success),
            thread=True,
            group=group or "default",
            exclusive=group is not None,
        )

    def _in_thread(
        self, fn: Callable[[], Any], then: Callable[[Any], Any] | None, success: str | None
    ) -> None:
        worker = get_current_worker()
        try:
            result = fn()
        except Abandoned:  # the console is quitting: nobody wants the answer
            return
        except SadeemError as exc:
            if not worker.is_cancelled:
                self.app.notify(str(exc), severity="error", timeout=8)
            return
        self.post_message(self.Done(worker, result, then, success))

    @on(Done)
    async def _done(self, message: Done) -> None:
        message.stop()
        if message.worker.is_cancelled:
            return
        if message.success:
            self.app.notify(message.success)
        if message.then is not None:
            outcome = message.then(message.result)
            if inspect.isawaitable(outcome):
                await outcome


class ListPane(Pane[Sequence[T]], Generic[T]):
    """A table of resources (T: the service's view of one) with the same verbs
    everywhere; rows filterable with `/`."""

    COLUMNS: Sequence[str] = ()
    ENTER_ACTION: str | None = None  # what Enter on a row does (DataTable consumes Enter)

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._rows: list[tuple[str, list[Any]]] = []

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE, classes="pane-title")
        table: DataTable[Any] = DataTable(
            cursor_type="row", zebra_stripes=True, id=f"{self.id}-table"
        )
        yield table

    def on_mount(self) -> None:
        # Subclasses do not define on_mount: Textual would run this one for them as well
        # (it calls the handler of every class on the way), adding the columns twice.
        self.table.add_columns(*self.COLUMNS)
        self._start_live()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def row(self, item: T) -> tuple[str, list[Any]]:
        """(row key, cells) of one item. A str cell is shown literally; a cell meant to
        be styled is a rich Text."""
        raise NotImplementedError

    def show(self, data: Sequence[T]) -> None:
        rows = [self.row(item) for item in data]
        # A live reload that changed nothing leaves the table alone: no repaint, no
        # cursor or scroll moved under the operator's eyes.
        if rows != self._rows:
            self._rows = rows
            self._render_rows()
        self.paint_title()

    def _render_rows(self) -> None:
        table = self.table
        selected = self.selected_key()
        table.clear()
        needle = self._filter.lower()
        for key, cells in self._rows:
            if needle and not any(needle in str(c).lower() for c in cells):
                continue
            table.add_row(*[_cell(c) for c in cells], key=key)
        if selected is not None:
            with contextlib.suppress(Exception):  # the row went away (filtered or deleted)
                table.move_cursor(row=table.get_row_index(selected))

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
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


def _cell(value: Any) -> Any:
    """DataTable parses a str cell as markup; ours are data, so they are escaped first."""
    if value is None:
        return "-"
    return literal(value) if isinstance(value, str) else value
