"""Sadeem's console: one app, a pane per resource, the same keys everywhere.

`1`-`8` switch panes, `:` opens the command bar (`:runs failed`, `:jobs`, `:ws demo`,
`:catalog demo_gold`), `/` filters the list in front of you, `?` lists every key of the
current pane, `Esc` goes back. All I/O runs in workers; the UI thread never waits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Footer, Input, Static

from engine.context import Actor
from engine.errors import SadeemError, ValidationError
from engine.run_states import STATES
from tui.data import Console, Opener
from tui.panes.audit import AuditPane
from tui.panes.catalog import CatalogPane
from tui.panes.connections import ConnectionsPane
from tui.panes.health import HealthPane
from tui.panes.jobs import JobsPane
from tui.panes.runs import RunsPane, parse_window
from tui.panes.sql import SqlPane
from tui.panes.workspaces import WorkspacesPane
from tui.widgets.grid import preload as preload_grid
from tui.widgets.help import HelpScreen

PANES = (
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


def runs_filter(words: list[str]) -> dict[str, Any]:
    """`:runs failed 24h job=load_bronze` to the runs pane's filters (unset ones cleared)."""
    chosen: dict[str, Any] = {"state": None, "job": None, "window": None}
    for word in words:
        if word in STATES:
            chosen["state"] = word
        elif word.startswith("job="):
            chosen["job"] = word[4:] or None
        else:
            parse_window(word)  # a clear error for anything else
            chosen["window"] = word
    return chosen


class PaneCommands(Provider):
    """The command palette (ctrl+p): every pane and every action of the current pane."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        """(title, help, callback): the panes, then the verbs of the pane in front."""
        app: Any = self.app
        out = [
            (f"Go to {pane.TITLE}", f"key {i + 1}", lambda key=pane.KEY: app.show_pane(key))
            for i, pane in enumerate(PANES)
        ]
        pane = app.current_pane()
        for b in getattr(pane, "BINDINGS", []):
            out.append(
                (
                    f"{pane.TITLE}: {b.description}",
                    f"key {b.key}",
                    # The palette has closed when this runs: the pane's own action, as its key.
                    lambda action=b.action: app.run_action(action, default_namespace=pane),
                )
            )
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
            Binding(str(i + 1), f"show_pane('{p.KEY}')", p.TITLE, show=True)
            for i, p in enumerate(PANES)
        ],
        Binding("colon", "command_bar", ":command", show=True),
        Binding("slash", "filter", "/filter", show=True),
        Binding("question_mark", "help", "?help", show=True),
        Binding("escape", "back", "Back", show=False),
        Binding("ctrl+q", "quit", "Quit", show=True, priority=True),
    ]

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
    ) -> None:
        super().__init__()
        self.health_every = health_every
        self.ctx = Console(
            services,
            Actor(actor.username, "tui"),
            workspace,
            read_only,
            opener=opener,
            data_dir=data_dir,
        )
        self.ctx.engine = engine
        self.ready = False  # the services are open and the role is known
        self.sql_warm = False  # the SQL engine is loaded (set after `ready`)
        self.forced_read_only = read_only
        self.read_only = read_only
        self.health_summary: tuple[int, int] | None = None
        self._bar_mode = "command"
        self._history: list[str] = []
        self._moved = False  # the operator has switched panes or opened the bar
        # Mounts under way: only the first pane is composed before the first frame; the
        # others follow in the background (8 panes of widgets cost ~130 ms).
        self._mounting: dict[str, Awaitable[None]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="header")
        initial = "sql" if self.ctx.workspace else "workspaces"
        with ContentSwitcher(initial=initial, id="panes"):
            yield PANE_BY_KEY[initial](id=initial)
        with Vertical(id="bar"):
            yield Input(
                placeholder=":runs failed  :jobs  :ws demo  :catalog demo_gold", id="command"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#bar").display = False
        # Start out of insert mode, on the list or grid of the first pane.
        self.call_after_refresh(self._initial_focus)
        self._paint_header({"holder": None, "queue": "-", "running": "-"})
        # Open the engine after the first frame is drawn: drawing it must not wait on the DB.
        self.call_after_refresh(lambda: self.run_worker(self._start, thread=True))
        self.call_after_refresh(lambda: self.run_worker(self._mount_other_panes()))
        self.set_interval(2.0, self._refresh_header)
        if self.health_every:
            self.set_interval(self.health_every, self._check_health)

    def _pending_mount(self, key: str) -> Awaitable[None] | None:
        """None if the pane is composed; else its mount (started, hidden, if need be)."""
        mounting = self._mounting.get(key)
        if mounting is not None:
            return None if self.query_one(f"#{key}").is_mounted else mounting
        if self.query(f"#{key}"):  # the first pane, composed with the app
            return None
        pane = PANE_BY_KEY[key](id=key)
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

    def _start(self) -> None:
        """Choose the workspace and the read-only mode from the actor's role."""
        console = self.ctx
        console.open(progress=lambda m: self.call_from_thread(self.notify, m))
        try:
            console.wait()
        except SadeemError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=30)
            return
        chose = console.workspace is None
        if chose:
            names = [w.name for w in console.s.workspaces.list(console.actor)]
            console.workspace = "demo" if "demo" in names else (names[0] if names else None)
        self.call_from_thread(self._apply_role)
        if self.health_every:
            self.call_from_thread(self._check_health)
        if chose and console.workspace:
            self.call_from_thread(self._workspace_chosen)

    def _workspace_chosen(self) -> None:
        """Go to the SQL pane, unless the operator already went somewhere while we opened."""
        if not self._moved:
            self.show_pane("sql")
        else:
            self.current_pane().reload()

    def _check_health(self) -> None:
        """The header's health summary, checked in the background like the Health pane."""

        def job() -> None:
            try:
                checks = self.ctx.s.health.check_all(self.ctx.actor)
            except Exception:  # the header must never take the console down
                return
            self.call_from_thread(self._set_health, sum(h.ok for h in checks), len(checks))

        self.run_worker(job, thread=True, group="health", exclusive=True)

    def _set_health(self, ok: int, total: int) -> None:
        self.health_summary = (ok, total)
        self._refresh_header()

    def _apply_role(self) -> None:
        def job() -> None:
            role = self.ctx.role()
            self.call_from_thread(self._set_role, role)
            # Then load the SQL engine, so the operator's first query does not wait for it.
            try:
                if role is not None and self.ctx.workspace:
                    self.ctx.s.sql.warm(self.ctx.actor, self.ctx.workspace)
            except SadeemError:
                pass  # the query itself will say what is wrong
            preload_grid()
            self.sql_warm = True

        self.run_worker(job, thread=True)

    def _set_role(self, role: str | None) -> None:
        self.read_only = self.forced_read_only or role in (None, "viewer")
        self.ctx.read_only = self.read_only
        self.ready = True
        self._refresh_header()

    def _refresh_header(self) -> None:
        if not self.ctx.opened:
            return  # _start paints it once the engine is open

        def job() -> None:
            try:
                status = self.ctx.status_line()
            except Exception:  # the header must never take the console down
                status = {"holder": None, "queue": "?", "running": "?"}
            self.call_from_thread(self._paint_header, status)

        self.run_worker(job, thread=True, group="header", exclusive=True)

    def _paint_header(self, status: dict[str, Any]) -> None:
        if not self.is_running or not self.query("#header"):
            return  # a late worker after the app closed
        embedded = self.ctx.engine
        engine = (
            "opening…"
            if not self.ctx.opened
            else "embedded"
            if embedded is not None and status["holder"] == embedded.id
            else "daemon"
            if status["holder"]
            else "none"
        )
        health = "-"
        if self.health_summary:
            ok, total = self.health_summary
            health = f"[{'green' if ok == total else 'red'}]{ok}/{total} ok[/]"
        mode = "  [reverse] READ-ONLY [/]" if self.read_only else ""
        self.query_one("#header", Static).update(
            f"[b]Sadeem[/b]  user [b]{self.ctx.actor.username}[/b]  "
            f"workspace [b]{self.ctx.workspace or '-'}[/b]  engine {engine}  "
            f"queue {status['queue']}  running {status['running']}  health {health}{mode}"
        )

    # -- navigation --------------------------------------------------------------------------

    def current_key(self) -> str:
        return self.query_one(ContentSwitcher).current or "workspaces"

    def current_pane(self) -> Any:
        return self.query_one(f"#{self.current_key()}")

    def action_show_pane(self, key: str) -> None:
        self.show_pane(key)

    def show_pane(
        self, key: str, then: Callable[[Any], None] | None = None, **options: Any
    ) -> None:
        """Bring a pane to the front with `options` set on it; `then(pane)` once shown."""
        self._moved = True
        key = ALIASES.get(key, key)
        switcher = self.query_one(ContentSwitcher)
        mounting = self._pending_mount(key)
        if mounting is not None:  # not composed yet: once it is

            async def when_mounted() -> None:
                await mounting
                self.show_pane(key, then, **options)

            self.call_next(when_mounted)
            return
        pane = self.query_one(f"#{key}")
        for name, value in options.items():
            setattr(pane, name, value)
        if self._history[-1:] != [switcher.current]:
            self._history.append(switcher.current or "workspaces")
        switcher.current = key
        pane.reload()
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
            then(pane)

    def switch_workspace(self, name: str) -> None:
        self.ctx.workspace = name
        self._apply_role()
        self.notify(f"workspace {name}")

    def insert_into_editor(self, text: str) -> None:
        self.show_pane("sql", then=lambda pane: pane.insert(text))

    def action_back(self) -> None:
        if self.current_key() == "sql" and self.query_one(SqlPane).leave_editor():
            return
        bar = self.query_one("#bar")
        if bar.display:
            bar.display = False
            if self._bar_mode == "filter":
                self.current_pane().apply_filter("")
            return
        if self._history:
            self.query_one(ContentSwitcher).current = self._history.pop()

    def action_help(self) -> None:
        pane = self.current_pane()
        rows = [(b.key, b.description) for b in getattr(pane, "BINDINGS", [])]
        rows += [(b.key, b.description) for b in self.BINDINGS if b.description]
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
        field.value = ""
        field.placeholder = (
            placeholder + " filter the list"
            if mode == "filter"
            else ":runs failed  :jobs  :ws demo  :catalog demo_gold"
        )
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "command" and self._bar_mode == "filter":
            self.current_pane().apply_filter(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "command":
            return
        self.query_one("#bar").display = False
        if self._bar_mode == "command":
            self.run_command(event.value)

    def run_command(self, text: str) -> None:
        """`:pane [argument]`: runs STATE, ws NAME, catalog NAMESPACE, jobs, sql, ..."""
        words = text.strip().lstrip(":").split()
        if not words:
            return
        head, args = ALIASES.get(words[0], words[0]), words[1:]
        if head == "workspaces" and args:
            self.switch_workspace(args[0])
            self.show_pane("sql")
            return
        if head == "runs":
            try:
                self.show_pane("runs", **runs_filter(args))
            except ValidationError as exc:
                self.notify(str(exc), severity="warning")
            return
        if head == "catalog":
            self.show_pane("catalog", then=lambda pane: args and pane.apply_filter(args[0]))
            return
        if head in {p.KEY for p in PANES}:
            self.show_pane(head)
            return
        if head in ("q", "quit"):
            self.exit()
            return
        self.notify(f"unknown command {head!r}; ? lists them", severity="warning")
