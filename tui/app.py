"""Sadeem's console: one app, a pane per resource, the same keys everywhere.

`1`-`8` switch panes, `:` opens the command bar (`:runs failed`, `:jobs`, `:ws demo`,
`:catalog demo_gold`), `/` filters the list in front of you, `?` lists every key of the
current pane, `Esc` goes back. All I/O runs in workers; the UI thread never waits.

Read-only is the session's (`Actor.read_only`, refused by the services); here it also
takes the changing keys away (tui/panes/base.py ChangeGuard). Every notification is plain
text: most carry an engine error or a name somebody chose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.actions import ActionParseResult, parse
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.theme import Theme
from textual.widgets import ContentSwitcher, Footer, Input
from textual.worker import Worker, WorkerFailed, get_current_worker

from engine.context import Actor
from engine.errors import SadeemError, ValidationError
from engine.run_states import STATES
from engine.text import plain
from tui.boundary import EXPECTED, failure_text
from tui.panes.audit import AuditPane
from tui.panes.base import READ_ONLY_NOTICE, ChangeGuard, Pane
from tui.panes.catalog import CatalogPane
from tui.panes.connections import ConnectionsPane
from tui.panes.health import HealthPane
from tui.panes.jobs import JobsPane
from tui.panes.runs import RunsFilter, RunsPane, parse_window
from tui.panes.sql import SqlPane, preload_splitter
from tui.panes.workspaces import WorkspacesPane
from tui.session import Opener, Session, abandonable
from tui.state import load_theme, save_theme
from tui.widgets.grid import preload as preload_grid
from tui.widgets.header import StatusHeader
from tui.widgets.help import HelpScreen

PANES: tuple[type[Pane[Any]], ...] = (
    WorkspacesPane,
    CatalogPane,
    SqlPane,
    JobsPane,
    RunsPane,
    ConnectionsPane,
    HealthPane,
    AuditPane,
)
PANE_BY_KEY = {pane.KEY: pane for pane in PANES}
ALIASES = {
    "ws": "workspaces",
    "workspace": "workspaces",
    "w": "workspaces",
    "cat": "catalog",
    "job": "jobs",
    "run": "runs",
    "conn": "connections",
    "connection": "connections",
    "h": "health",
    "a": "audit",
}


def runs_filter(words: list[str]) -> RunsFilter:
    """`:runs failed 24h job=load_bronze` to the runs pane's filters (unset ones cleared)."""
    chosen = RunsFilter()
    for word in words:
        if word in STATES:
            chosen = replace(chosen, state=word)
        elif word.startswith("job="):
            chosen = replace(chosen, job=word[4:] or None)
        else:
            parse_window(word)  # a clear error for anything else
            chosen = replace(chosen, window=word)
    return chosen


class PaneCommands(Provider):
    """The command palette (ctrl+p): every pane and every action of the current pane."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(title, help, callback): the panes, then the verbs of the pane in front."""
        app = self.app
        assert isinstance(app, SadeemApp)
        pane = app.current_pane()

        def go_to(key: str) -> Callable[[], None]:
            return lambda: app.show_pane(key)

        def run(action: str) -> Callable[[], Awaitable[bool]]:
            # The palette has closed when this runs: the pane's own action, as its key.
            return lambda: app.run_action(action, default_namespace=pane)

        out: list[tuple[str, str, Callable[[], object]]] = [
            (f"Go to {p.TITLE}", f"key {i + 1}", go_to(p.KEY)) for i, p in enumerate(PANES)
        ]
        for b in app.offered(pane):
            out.append((f"{pane.TITLE}: {b.description}", f"key {b.key}", run(b.action)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class SadeemApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Sadeem"
    COMMANDS = App.COMMANDS | {PaneCommands}
    BINDINGS = [
        *[
            Binding(str(i + 1), f"show_pane('{p.KEY}')", p.TITLE, show=True, id=f"pane.{p.KEY}")
            for i, p in enumerate(PANES)
        ],
        Binding("colon", "command_bar", ":command", show=True, id="app.command_bar"),
        Binding("slash", "filter", "/filter", show=True, id="app.filter"),
        Binding("question_mark", "help", "?help", show=True, id="app.help"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        Binding("ctrl+q", "quit", "Quit", show=True, priority=True, id="app.quit"),
    ]
    # The session changes nothing (the operator asked, or the role is viewer or none): the
    # services refuse it (Actor.read_only), its Change keys are gone (ChangeGuard.allows)
    # and the header carries `-read-only`.
    read_only: var[bool] = var(False, init=False)

    class Opened(Message):
        """The engine is open and the workspace chosen (`chose`: the console picked it)."""

        def __init__(self, chose: bool) -> None:
            super().__init__()
            self.chose = chose

    class RoleKnown(Message):
        """The operator's role in the workspace `workspace` (None: not a member)."""

        def __init__(self, worker: Worker[None], workspace: str | None, role: str | None):
            super().__init__()
            self.worker = worker
            self.workspace = workspace
            self.role = role

    class EngineStatus(Message):
        """What the header shows of the engine: lease holder, queue, running."""

        def __init__(self, worker: Worker[None], status: dict[str, Any]) -> None:
            super().__init__()
            self.worker = worker
            self.status = status

    class WorkspaceFound(Message):
        """The engine says `workspace` exists and is visible: switch to it, then `then()`."""

        def __init__(
            self, worker: Worker[None], workspace: str, then: Callable[[], None] | None
        ) -> None:
            super().__init__()
            self.worker = worker
            self.workspace = workspace
            self.then = then

    def __init__(
        self,
        services: Any,
        actor: Actor,
        workspace: str | None = None,
        read_only: bool = False,
        engine: Any = None,
        health_every: float | None = 60.0,
        opener: Opener | None = None,
        data_dir: Path | None = None,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.health_every = health_every
        # What the operator asked for; the session is also read-only for a viewer.
        self._asked_read_only = read_only or actor.read_only
        self.session = Session(
            services,
            Actor(actor.username, "tui", read_only=self._asked_read_only),
            workspace,
            opener=opener,
            data_dir=data_dir,
        )
        self.session.engine = engine
        self.set_reactive(SadeemApp.read_only, self._asked_read_only)
        self._rebound = dict(keymap or {})
        self.ready = False  # the services are open and the role is known
        self.sql_warm = False  # the SQL engine is loaded (set after `ready`)
        self.health_summary: tuple[int, int] | None = None
        self._status: dict[str, Any] = {"holder": None, "queue": "-", "running": "-"}
        self._bar_mode = "command"
        self._filtering: Pane[Any] | None = None  # the pane a `/` filter being typed is for
        self._history: list[str] = []
        self._moved = False  # the operator has switched panes or opened the bar
        # Mounts under way: only the first pane is composed before the first frame; the
        # others follow in the background (8 panes of widgets cost ~130 ms).
        self._mounting: dict[str, Awaitable[None]] = {}
        # The theme the operator chose last time (ctrl+p "theme"); saved when it changes.
        self._saved_theme = load_theme(self.session.data_dir, self.session.actor.username)

    def compose(self) -> ComposeResult:
        header = StatusHeader("", id="header")
        header.set_class(self.read_only, "-read-only")
        yield header
        initial = "sql" if self.session.workspace else "workspaces"
        with ContentSwitcher(initial=initial, id="panes"):
            yield PANE_BY_KEY[initial](self.session, id=initial)
        with Vertical(id="bar"):
            yield Input(
                placeholder=":runs failed  :jobs  :ws demo  :catalog demo_gold", id="command"
            )
        yield Footer()

    def on_mount(self) -> None:
        if self._rebound:
            self.set_keymap(self._rebound)  # `[keymap]` in config.toml: binding id -> keys
        if self._saved_theme and self._saved_theme in self.available_themes:
            self.theme = self._saved_theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.query_one("#bar").display = False
        # Start out of insert mode, on the list or grid of the first pane.
        self.call_after_refresh(self._initial_focus)
        self._paint_header()
        # Open the engine after the first frame is drawn: drawing it must not wait on the DB.
        self.call_after_refresh(self._start)
        self.call_after_refresh(lambda: self.run_worker(self._mount_other_panes()))
        self.set_interval(2.0, self._refresh_header)
        if self.health_every:
            self.set_interval(self.health_every, self._check_health)

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self._saved_theme:
            self._saved_theme = theme.name
            self._save_theme(theme.name)

    @work(thread=True, group="theme")
    def _save_theme(self, name: str) -> None:
        save_theme(self.session.data_dir, self.session.actor.username, name)

    def _pending_mount(self, key: str) -> Awaitable[None] | None:
        """None if the pane is composed; else its mount (started, hidden, if need be)."""
        mounting = self._mounting.get(key)
        if mounting is not None:
            return None if self.query_one(f"#{key}").is_mounted else mounting
        if self.query(f"#{key}"):  # the first pane, composed with the app
            return None
        pane = PANE_BY_KEY[key](self.session, id=key)
        pane.display = False  # the switcher shows it when it becomes current
        self._mounting[key] = self.query_one(ContentSwitcher).mount(pane)
        return self._mounting[key]

    async def _mount_other_panes(self) -> None:
        for pane in PANES:
            mounting = self._pending_mount(pane.KEY)
            if mounting is not None:
                await mounting

    def _initial_focus(self) -> None:
        if self.focused is None or self.focused.id == "editor":
            pane = self.current_pane()
            target = (
                pane.query("DataTable, Tree").first() if pane.query("DataTable, Tree") else None
            )
            if self.current_key() == "sql":
                self.query_one(SqlPane).focus_results()
            elif target is not None:
                target.focus()

    @work(thread=True, group="start")
    def _start(self) -> None:
        """Open the engine; choose the workspace (the read-only mode follows from the
        actor's role in it, once known). A notification is a message: safe from here."""
        session = self.session
        session.open(progress=self.notify)
        try:
            session.wait()
        except SadeemError as exc:
            self.notify(str(exc), severity="error", timeout=30)
            return
        if session.workspace is not None:
            try:  # `sadeem -w nosuchws`: say so, then open as if none was named
                session.s.workspaces.get(session.actor, session.workspace)
            except SadeemError as exc:
                message = f"{exc}; opening another workspace"
                self.notify(message, severity="error", timeout=15)
                session.workspace = None
        chose = session.workspace is None
        if chose:
            names = [w.name for w in session.s.workspaces.list(session.actor)]
            session.workspace = "demo" if "demo" in names else (names[0] if names else None)
        self.post_message(self.Opened(chose))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self._apply_role()
        if self.health_every:
            self._check_health()
        if message.chose and self.session.workspace:
            self._workspace_chosen()

    def _workspace_chosen(self) -> None:
        """Go to the SQL pane, unless the operator already went somewhere while we opened."""
        if not self._moved:
            self.show_pane("sql")
        else:
            self.current_pane().reload()

    @work(thread=True, group="health", exclusive=True)
    def _check_health(self) -> None:
        """The header's health summary, checked in the background like the Health pane."""
        session = self.session
        try:
            checks = abandonable(lambda: session.s.health.check_all(session.actor))
        except Exception:  # the header must never take the console down (nor quitting)
            return
        if not get_current_worker().is_cancelled:
            self.post_message(HealthPane.Checked(sum(h.ok for h in checks), len(checks)))

    @on(HealthPane.Checked)
    def _health_checked(self, message: HealthPane.Checked) -> None:
        self.health_summary = (message.ok, message.total)
        self._refresh_header()

    @work(thread=True, group="role", exclusive=True)
    def _apply_role(self) -> None:
        """The role in the workspace in front (a newer switch cancels the older ask); then
        the SQL engine is loaded, so the operator's first query does not wait for it."""
        worker = get_current_worker()
        session = self.session
        workspace = session.workspace
        role = session.role()
        self.post_message(self.RoleKnown(worker, workspace, role))
        try:
            if role is not None and workspace:
                session.s.sql.warm(session.actor, workspace)
        except SadeemError:
            pass  # the query itself will say what is wrong
        preload_grid()
        preload_splitter()
        self.sql_warm = True

    @on(RoleKnown)
    def _role_known(self, message: RoleKnown) -> None:
        if message.worker.is_cancelled or message.workspace != self.session.workspace:
            return  # the operator switched again: that role is coming
        self.read_only = self._asked_read_only or message.role in (None, "viewer")
        self.ready = True
        follow = getattr(self.session.engine, "follow", None)
        if follow is not None:  # an embedded engine that follows the lease (tui/main.py)
            # Read at every check: a session that turns read-only stops its engine.
            follow(lambda: not self.read_only)
        self._refresh_header()

    def watch_read_only(self, read_only: bool) -> None:
        self.session.actor = replace(self.session.actor, read_only=read_only)
        self.refresh_bindings()  # the footer shows the changing keys, or not
        for header in self.query(StatusHeader):
            header.set_class(read_only, "-read-only")
        self._paint_header()

    def _refresh_header(self) -> None:
        if self.session.opened:  # else _start paints it once the engine is open
            self._fetch_status()

    @work(thread=True, group="header", exclusive=True)
    def _fetch_status(self) -> None:
        worker = get_current_worker()
        try:
            status = self.session.status_line()
        except Exception:  # the header must never take the console down
            status = {"holder": None, "queue": "?", "running": "?"}
        self.post_message(self.EngineStatus(worker, status))

    @on(EngineStatus)
    def _engine_status(self, message: EngineStatus) -> None:
        if not message.worker.is_cancelled:  # a newer status is coming
            self._status = message.status
            self._paint_header()

    def _paint_header(self) -> None:
        if not self.is_running or not self.query(StatusHeader):
            return  # a late message after the app closed
        label, alarm = self._engine_label(self._status)
        self.query_one(StatusHeader).paint(
            username=self.session.actor.username,
            workspace=self.session.workspace,
            engine=label,
            alarm=alarm,
            status=self._status,
            health=self.health_summary,
        )

    def _engine_label(self, status: dict[str, Any]) -> tuple[str, str | None]:
        """Who runs the work: embedded, daemon, another console or none; and a warning
        when runs are queued and no live engine will ever run them."""
        if not self.session.opened:
            return "opening…", None
        holder = status["holder"]
        if holder is None:
            label = "none"
        elif holder == getattr(self.session.engine, "id", None):
            label = "embedded"
        else:
            label = "other console" if status.get("holder_kind") == "console" else "daemon"
        queued = status["queue"]
        if isinstance(queued, int) and queued > 0 and status.get("alive") == 0:
            return label, f"· {queued} queued, nobody runs them"
        return label, None

    # -- what the console says and lets you do ------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification, always plain: an engine error quoting `[/b]` raised MarkupError."""
        super().notify(
            plain(message), title=plain(title), severity=severity, timeout=timeout, markup=False
        )

    def _handle_exception(self, error: Exception) -> None:
        """The boundary for workers (tui/boundary.py): a failed worker is a notification,
        never the end of the console. Textual's own hook (private, checked by the tests in
        tests/tui/test_console_traps.py): a worker's failure reaches the app only here.
        Anything else still ends the app: a handler that raised has stopped its widget's
        message loop, so going on would leave a dead pane on screen."""
        if isinstance(error, WorkerFailed):
            self.log.error(repr(error.error))
            self.notify(failure_text(error.error), severity="error", timeout=10)
            return
        super()._handle_exception(error)

    def on_data_table_selection_copied(self, event: Any) -> None:
        """ctrl+c in a result grid (textual-fastdatatable posts the values, copies nothing):
        the cell, row or range to the clipboard as tab-separated text, and say so."""
        values = event.values
        text = "\n".join("\t".join("" if v is None else str(v) for v in row) for row in values)
        self.copy_to_clipboard(text)
        cells = sum(len(row) for row in values)
        what = "1 cell" if cells == 1 else f"{len(values)} row(s), {cells} cells"
        self.notify(f"copied {what} to the clipboard ({len(text):,} characters)")

    def action_help_quit(self) -> None:
        # Textual's own says it in markup, which notify no longer reads.
        self.notify("Press ctrl+q to quit the app", title="Do you want to quit?")

    def offered(self, node: DOMNode) -> list[Binding]:
        """The node's bindings the operator may use now (no changing one in read-only), with
        the keys `[keymap]` gave them."""
        return [
            replace(b, key=self._rebound[b.id]) if b.id is not None and b.id in self._rebound else b
            for b in getattr(node, "BINDINGS", [])
            if isinstance(b, Binding)
            and (not isinstance(node, ChangeGuard) or node.allows(parse(b.action)[1]))
        ]

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Every key and palette entry comes through here: a changing action asked in
        read-only is refused, with one notice, instead of being silently skipped."""
        destination, name, _params = parse(action) if isinstance(action, str) else action
        target = default_namespace if not destination else None
        if isinstance(target, ChangeGuard) and not target.allows(name):
            self.notify(READ_ONLY_NOTICE, severity="warning")
            return True
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except EXPECTED as exc:  # the boundary for keys: say it, stay up
            self.notify(failure_text(exc), severity="error", timeout=10)
            return True

    # -- navigation --------------------------------------------------------------------------

    def current_key(self) -> str:
        return self.query_one(ContentSwitcher).current or "workspaces"

    def current_pane(self) -> Pane[Any]:
        return self.query_one(f"#{self.current_key()}", Pane)

    def action_show_pane(self, key: str) -> None:
        self.show_pane(key)

    def show_pane(self, key: str, then: Callable[[], None] | None = None) -> None:
        """Bring a pane to the front; `then()` once it is there, before it loads (a
        filter set by `then` is what the load asks for)."""
        self._moved = True
        key = ALIASES.get(key, key)
        switcher = self.query_one(ContentSwitcher)
        mounting = self._pending_mount(key)
        if mounting is not None:  # not composed yet: once it is

            async def when_mounted() -> None:
                await mounting
                self.show_pane(key, then)

            self.call_next(when_mounted)
            return
        pane = self.query_one(f"#{key}", Pane)
        if self._history[-1:] != [switcher.current]:
            self._history.append(switcher.current or "workspaces")
        switcher.current = key
        focus = (
            pane.query("DataTable, Tree, TextArea").first()
            if pane.query("DataTable, Tree, TextArea")
            else None
        )
        if focus is not None and key != "sql":
            focus.focus()
        elif key == "sql":
            self.query_one(SqlPane).focus_results()
        if then is not None:
            then()
        pane.reload()

    def switch_workspace(self, name: str, then: Callable[[], None] | None = None) -> None:
        """Switch once the engine says the workspace exists (and is visible); `then()` after.
        Until then the console stays where it was: `:ws nosuchws` only says so."""
        self._find_workspace(name, then)

    @work(thread=True, group="switch", exclusive=True)
    def _find_workspace(self, name: str, then: Callable[[], None] | None) -> None:
        worker = get_current_worker()
        self.session.s.workspaces.get(self.session.actor, name)  # NotFound: the boundary
        self.post_message(self.WorkspaceFound(worker, name, then))

    @on(WorkspaceFound)
    def _workspace_found(self, message: WorkspaceFound) -> None:
        if message.worker.is_cancelled:  # the operator asked for another one since
            return
        self.session.workspace = message.workspace
        self._apply_role()
        self.notify(f"workspace {message.workspace}")
        self._refresh_header()
        if message.then is not None:
            message.then()

    def insert_into_editor(self, text: str) -> None:
        self.show_pane("sql", then=lambda: self.query_one(SqlPane).insert(text))

    # -- what the panes ask for ---------------------------------------------------------------

    @on(CatalogPane.InsertName)
    def _insert_name(self, message: CatalogPane.InsertName) -> None:
        self.insert_into_editor(message.ident)

    @on(WorkspacesPane.Switched)
    def _workspace_switched(self, message: WorkspacesPane.Switched) -> None:
        self.switch_workspace(message.workspace, then=message.pane.reload)

    @on(JobsPane.ShowRuns)
    def _show_runs(self, message: JobsPane.ShowRuns) -> None:
        def only_that_job() -> None:
            runs = self.query_one(RunsPane)
            runs.set_filters(replace(runs.chosen, job=message.job))

        self.show_pane("runs", then=only_that_job)

    async def action_back(self) -> None:
        if self.current_key() == "sql" and self.query_one(SqlPane).leave_editor():
            return
        bar = self.query_one("#bar")
        if bar.display:
            bar.display = False
            if self._bar_mode == "filter" and self._filtering is not None:
                self._filtering.apply_filter("")
            return
        if self._history:
            self.query_one(ContentSwitcher).current = self._history.pop()

    def action_help(self) -> None:
        pane = self.current_pane()
        rows = [(b.key, b.description) for b in self.offered(pane)]
        rows += [(b.key, b.description) for b in self.offered(self) if b.description]
        rows += [
            (":ws NAME", "switch workspace"),
            (":runs [STATE] [24h] [job=NAME]", "runs, filtered"),
            (":catalog NS", "catalog, filtered"),
            ("ctrl+p", "command palette"),
        ]
        self.push_screen(HelpScreen(f"{pane.TITLE} keys", rows))

    def action_command_bar(self) -> None:
        self._open_bar("command", ":")

    def action_filter(self) -> None:
        self._open_bar("filter", "/")

    def _open_bar(self, mode: str, placeholder: str) -> None:
        self._moved = True
        self._bar_mode = mode
        bar = self.query_one("#bar")
        bar.display = True
        field = self.query_one("#command", Input)
        # A filter is the pane's own: `/` edits the one it has (shown in its title).
        self._filtering = self.current_pane() if mode == "filter" else None
        field.value = self._filtering.filter_text if self._filtering is not None else ""
        field.cursor_position = len(field.value)
        field.placeholder = (
            placeholder + " filter the list"
            if mode == "filter"
            else ":runs failed  :jobs  :ws demo  :catalog demo_gold"
        )
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if (
            event.input.id == "command"
            and self._bar_mode == "filter"
            and self._filtering is not None
        ):
            self._filtering.apply_filter(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "command":
            return
        self.query_one("#bar").display = False
        if self._bar_mode == "command":
            try:
                self.run_command(event.value)
            except EXPECTED as exc:  # the boundary for `:commands`
                self.notify(failure_text(exc), severity="error", timeout=10)

    def run_command(self, text: str) -> None:
        """`:pane [argument]`: runs STATE, ws NAME, catalog NAMESPACE, jobs, sql, ..."""
        words = text.strip().lstrip(":").split()
        if not words:
            return
        head, args = ALIASES.get(words[0], words[0]), words[1:]
        if head == "workspaces" and args:
            self.switch_workspace(args[0], then=lambda: self.show_pane("sql"))
            return
        if head == "runs":
            try:
                chosen = runs_filter(args)
            except ValidationError as exc:
                self.notify(str(exc), severity="warning")
                return
            self.show_pane("runs", then=lambda: self.query_one(RunsPane).set_filters(chosen))
            return
        if head == "catalog":
            # `:catalog` alone shows every namespace again: a filter never outlives its ask.
            namespace = args[0] if args else ""
            self.show_pane(
                "catalog", then=lambda: self.query_one(CatalogPane).apply_filter(namespace)
            )
            return
        if head in {p.KEY for p in PANES}:
            self.show_pane(head)
            return
        if head in ("q", "quit"):
            self.exit()
            return
        self.notify(f"unknown command {head!r}; ? lists them", severity="warning")
