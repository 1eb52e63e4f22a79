"""Runs: a live list (state colours, duration, trigger, attempt), filters, and a detail
screen that follows the log to the end, with cancel, retry and the backend's UI links."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Sparkline, Static
from textual.worker import Worker, get_current_worker

from engine.errors import SadeemError, ValidationError
from engine.run_states import FINISHED, RunState
from tui.panes.base import Change, ChangeGuard, ListPane, literal
from tui.session import Session
from tui.widgets.form import confirm
from tui.widgets.log_view import LogView

if TYPE_CHECKING:
    from engine.views import RunView

# A run state's colour is the component class `run-state--STATE` (app.tcss) of the pane or
# screen that shows it: a DataTable cell or a line of markup cannot take a CSS class.
STATE_CLASSES = {f"run-state--{state}" for state in RunState}


def state_style(node: Widget, state: str) -> Style:
    """The style app.tcss gives `state` on `node` (a pane or screen listing STATE_CLASSES)."""
    name = f"run-state--{state}"
    if name not in node.COMPONENT_CLASSES:
        name = f"run-state--{RunState.QUEUED}"  # a state this console does not know yet: plain
    return node.get_component_rich_style(name, partial=True)


@dataclass(frozen=True)
class RunsFilter:
    """What the Runs list shows: one job, one state, queued within a window (None: all)."""

    job: str | None = None
    state: str | None = None
    window: str | None = None  # 30m, 1h, 24h, 7d


WINDOW = re.compile(r"(\d+)([mhd])")


def parse_window(text: str) -> timedelta:
    """`30m`, `24h`, `7d` to a timedelta; anything else is a ValidationError."""
    match = WINDOW.fullmatch(text.strip().lower())
    if not match:
        raise ValidationError("a time window looks like 30m, 24h or 7d", field="since")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


class RunsPane(ListPane["RunView"]):
    TITLE = "Runs"
    KEY = "runs"
    COLUMNS = ("id", "job", "state", "trigger", "attempt", "queued", "duration", "error")
    ENTER_ACTION = "open"
    BINDINGS = [
        Binding("enter", "open", "Open / follow log", id="runs.open"),
        Change("c", "cancel", "Cancel", id="runs.cancel"),
        Change("R", "retry", "Retry", id="runs.retry"),
        Binding("f", "cycle_state", "Filter state", id="runs.cycle_state"),
        Binding("t", "cycle_window", "Filter time", id="runs.cycle_window"),
        Binding("j", "clear_job", "All jobs", id="runs.clear_job"),
    ]
    COMPONENT_CLASSES = set(STATE_CLASSES)
    STATE_FILTERS = (None, RunState.RUNNING, RunState.FAILED, RunState.SUCCEEDED, RunState.QUEUED)
    WINDOWS = (None, "1h", "24h", "7d")

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.job: str | None = None
        self.state: str | None = None
        self.window: str | None = None  # queued within this window: 30m, 1h, 24h, 7d

    LIVE_SECONDS = 1.0

    @property
    def chosen(self) -> RunsFilter:
        return RunsFilter(self.job, self.state, self.window)

    def set_filters(self, chosen: RunsFilter) -> None:
        """Show what `chosen` names, and only that (`:runs failed 24h job=NAME`)."""
        self.job, self.state, self.window = chosen.job, chosen.state, chosen.window

    def load(self) -> Sequence[RunView]:
        ws = self.session.workspace
        if ws is None:
            return []
        since = datetime.now(UTC) - parse_window(self.window) if self.window else None
        return self.session.s.runs.list(
            self.session.actor, ws, job=self.job, state=self.state, since=since, limit=200
        )

    def filters(self) -> list[str]:
        chosen = [
            f"job={self.job}" if self.job else "",
            f"state={self.state}" if self.state else "",
        ]
        return [*filter(None, chosen), *([f"last {self.window}"] if self.window else [])]

    def row(self, r: RunView) -> tuple[str, list[Any]]:
        return (
            str(r.id),
            [
                r.id,
                r.job,
                Text(r.state, style=state_style(self, r.state)),
                r.trigger,
                r.attempt,
                r.queued_at.strftime("%m-%d %H:%M:%S"),
                f"{r.duration_s:.1f}s" if r.duration_s is not None else None,
                (r.error or "")[:60] or None,
            ],
        )

    def action_cycle_state(self) -> None:
        # A state typed on the command bar (`:runs cancelled`) need not be one `f` steps
        # through: from it, `f` starts the cycle again.
        i = self.STATE_FILTERS.index(self.state) if self.state in self.STATE_FILTERS else 0
        self.state = self.STATE_FILTERS[(i + 1) % len(self.STATE_FILTERS)]
        self.reload()

    def action_cycle_window(self) -> None:
        i = self.WINDOWS.index(self.window) if self.window in self.WINDOWS else 0
        self.window = self.WINDOWS[(i + 1) % len(self.WINDOWS)]
        self.reload()

    def action_clear_job(self) -> None:
        self.job = None
        self.reload()

    def action_open(self) -> None:
        key = self.selected_key()
        if key:
            self.app.push_screen(RunScreen(self.session, int(key)))

    def action_cancel(self) -> None:
        key = self.selected_key()
        if key:
            ask_cancel(self.app, self.session, int(key), self.reload)

    def action_retry(self) -> None:
        key = self.selected_key()
        if key:
            ask_retry(self.app, self.session, int(key), self.reload)


def ask_cancel(
    app: App[Any], session: Session, run_id: int, then: Callable[[], None] | None = None
) -> None:
    """Cancel a run once the operator says so (list and run screen alike)."""

    def done(_result: Any) -> None:
        app.notify(f"cancel requested for run {run_id}")
        if then is not None:
            then()

    confirm(
        app,
        f"Cancel run {run_id}?",
        "Cancel run",
        lambda: session.s.runs.cancel(session.actor, run_id),
        done,
        intro="A running statement or Spark application is stopped; its log is kept.",
    )


def ask_retry(
    app: App[Any], session: Session, run_id: int, then: Callable[[], None] | None = None
) -> None:
    """Queue a new attempt of a run once the operator says so."""

    def done(run: Any) -> None:
        app.notify(f"run {run.id} queued (attempt {run.attempt})")
        if then is not None:
            then()

    confirm(
        app,
        f"Retry run {run_id}?",
        "Retry",
        lambda: session.s.runs.retry(session.actor, run_id),
        done,
        intro="A new attempt is queued with the same parameters and logical date.",
    )


class RunScreen(ChangeGuard, Screen[None]):
    """One run: details, links, a duration chart of the job's recent runs, the live log."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="run.back"),
        Change("c", "cancel", "Cancel", id="run.cancel"),
        Change("R", "retry", "Retry", id="run.retry"),
        Binding("w", "wrap", "Wrap", id="run.wrap"),
        Binding("T", "timestamps", "Times", id="run.timestamps"),
        Binding("s", "save", "Save log", id="run.save"),
        Binding("slash", "search", "Search", id="run.search"),
        Binding("n", "next_hit(1)", "Next", id="run.next_hit"),
        Binding("N", "next_hit(-1)", "Previous", id="run.previous_hit"),
        Binding("G", "follow", "Follow", id="run.follow"),
    ]
    COMPONENT_CLASSES = set(STATE_CLASSES)

    class Fetched(Message):
        """One poll's answer: the run, its new log chunks, the job's recent runs (or None)."""

        def __init__(
            self,
            worker: Worker[None],
            run: Any = None,
            chunks: list[tuple[int, datetime, list[str]]] | None = None,
            history: list[Any] | None = None,
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.worker = worker
            self.run = run
            self.chunks = chunks or []
            self.history = history
            self.error = error

    def __init__(self, session: Session, run_id: int) -> None:
        super().__init__()
        self.session = session
        self.run_id = run_id
        self._seq = 0
        self._done = False
        self._state: str | None = None
        self._fetching = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="run-info")
            yield Sparkline([], id="durations")
            yield LogView(id="run-log")
            yield Input(
                placeholder="search the log; Enter jumps, n/N next/previous", id="log-search"
            )
            yield Static("", id="log-status")
        yield Footer()

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def lines(self) -> list[str]:
        return self.log_view.lines

    def on_mount(self) -> None:
        self.query_one("#log-search").display = False
        self.log_view.focus()
        self.set_interval(0.5, self.poll)
        self.poll()

    def poll(self) -> None:
        # One fetch at a time: two in flight would both read after the same seq and show
        # the same lines twice (a slow fetch under a busy log outlives the 0.5 s tick).
        if not self._done and not self._fetching:
            self._fetching = True
            self._fetch()

    @work(thread=True, exclusive=True, group="fetch")
    def _fetch(self) -> None:
        worker = get_current_worker()
        svc, actor = self.session.s, self.session.actor
        try:
            run = svc.runs.get(actor, self.run_id)
            chunks = svc.runs.logs(actor, self.run_id, after_seq=self._seq, limit=5000)
            history = None  # the duration chart changes only when this run's state does
            if run.state != self._state:
                history = svc.runs.list(actor, run.workspace, job=run.job, limit=30)
                self._state = run.state
        except SadeemError as exc:
            self.post_message(self.Fetched(worker, error=str(exc)))
            return
        split = [(c.seq, c.at, c.text.splitlines()) for c in chunks]  # off the UI thread
        self.post_message(self.Fetched(worker, run, split, history))

    @on(Fetched)
    def _fetched(self, message: Fetched) -> None:
        self._fetching = False
        if message.worker.is_cancelled:  # the screen is closing
            return
        if message.error is not None:
            self._done = True  # stop polling; the notification says why
            self.app.notify(message.error, severity="error", timeout=10)
            return
        self._show(message.run, message.chunks, message.history)

    def _show(
        self,
        run: Any,
        chunks: list[tuple[int, datetime, list[str]]],
        history: list[Any] | None,
    ) -> None:
        links = "  ".join(f"{k}: {v}" for k, v in run.links.items()) or "-"
        info = Text.from_markup(f"[b]run {run.id}[/b]  {literal(run.job)} v{run.version}  ")
        info.append(run.state, state_style(self, run.state))
        info.append_text(
            Text.from_markup(
                f"  trigger {literal(run.trigger)}  "
                f"attempt {run.attempt}  ds {literal(run.logical_date)}\n"
                f"external id {literal(run.external_id or '-')}  links {literal(links)}\n"
                f"params {literal(run.parameters or '-')}  error {literal(run.error or '-')}"
            )
        )
        self.query_one("#run-info", Static).update(info)
        if history is not None:
            durations = [r.duration_s or 0.0 for r in reversed(history) if r.finished_at]
            self.query_one(Sparkline).data = durations or [0.0]
        for seq, at, lines in chunks:
            self._seq = seq
            self.log_view.write_lines(lines, at)
        if run.state in FINISHED and not chunks:
            self._done = True
        self._status()

    def _status(self) -> None:
        log = self.log_view
        parts = [f"{len(log.lines):,} lines", "following" if log.follow else "paused (G follows)"]
        if log.wrap:
            parts.append("wrap")
        if log.needle:
            at = f"{log.current + 1}/" if log.current >= 0 else ""
            parts.append(f"{at}{len(log.hits)} match {log.needle!r}")
        self.query_one("#log-status", Static).update(literal("  ".join(parts)))

    def action_back(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.display:
            search.display = False
            self.log_view.focus()
            return
        self.app.pop_screen()

    def action_cancel(self) -> None:
        ask_cancel(self.app, self.session, self.run_id)

    def action_retry(self) -> None:
        ask_retry(self.app, self.session, self.run_id)

    @work(thread=True)
    def _in_thread(self, fn: Callable[[], Any], message: str | None = None) -> None:
        """Run `fn` in a worker; notify its result (or `message`), or the engine's error
        (a notification is a message: safe from any thread)."""
        try:
            result = fn()
        except (SadeemError, OSError) as exc:
            self.app.notify(str(exc), severity="error")
            return
        self.app.notify(message or str(result))

    def action_wrap(self) -> None:
        self.log_view.set_wrap(not self.log_view.wrap)
        self._status()

    def action_timestamps(self) -> None:
        self.log_view.set_timestamps(not self.log_view.timestamps)

    def action_follow(self) -> None:
        self.log_view.action_scroll_end()
        self._status()

    def action_save(self) -> None:
        path = self.session.output_path(f"sadeem-run-{self.run_id}.log")
        text = "\n".join(self.log_view.lines) + "\n"

        def save() -> str:
            path.write_text(text)
            return f"saved to {path}"

        self._in_thread(save)

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = True
        search.value = self.log_view.needle
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.input.display = False
        hits = self.log_view.search(event.value)
        self.log_view.focus()
        self._status()
        if event.value and not hits:
            self.app.notify(f"no line holds {event.value!r}", severity="warning")

    def action_next_hit(self, step: int) -> None:
        if self.log_view.next_hit(step) is None:
            self.app.notify("no search hits; / searches", severity="warning")
        self._status()
