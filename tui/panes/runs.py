"""Runs: a live list (state colours, duration, trigger, attempt), filters, and a detail
screen that follows the log to the end, with cancel, retry and the backend's UI links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Sparkline, Static

from engine.errors import SadeemError, ValidationError
from engine.run_states import TERMINAL
from tui.panes.base import ListPane
from tui.widgets.log_view import LogView

COLOURS = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "running": "cyan",
    "cancelling": "yellow",
    "cancelled": "yellow",
    "queued": "white",
    "skipped": "dim",
}


WINDOW = re.compile(r"(\d+)([mhd])")


def parse_window(text: str) -> timedelta:
    """`30m`, `24h`, `7d` to a timedelta; anything else is a ValidationError."""
    match = WINDOW.fullmatch(text.strip().lower())
    if not match:
        raise ValidationError("a time window looks like 30m, 24h or 7d", field="since")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def coloured(state: str) -> str:
    return f"[{COLOURS.get(state, 'white')}]{state}[/]"


class RunsPane(ListPane):
    TITLE = "Runs"
    KEY = "runs"
    COLUMNS = ("id", "job", "state", "trigger", "attempt", "queued", "duration", "error")
    ENTER_ACTION = "open"
    BINDINGS = [
        Binding("enter", "open", "Open / follow log"),
        Binding("c", "cancel", "Cancel"),
        Binding("R", "retry", "Retry"),
        Binding("f", "cycle_state", "Filter state"),
        Binding("t", "cycle_window", "Filter time"),
        Binding("j", "clear_job", "All jobs"),
    ]
    STATE_FILTERS = (None, "running", "failed", "succeeded", "queued")
    WINDOWS = (None, "1h", "24h", "7d")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job: str | None = None
        self.state: str | None = None
        self.window: str | None = None  # queued within this window: 30m, 1h, 24h, 7d

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._refresh_if_visible)

    def _refresh_if_visible(self) -> None:
        if self.display and self.is_mounted and self.app.screen is self.screen:
            self.reload()

    def load(self) -> Any:
        ws = self.ctx.workspace
        if ws is None:
            return []
        since = datetime.now(UTC) - parse_window(self.window) if self.window else None
        return self.ctx.s.runs.list(
            self.ctx.actor, ws, job=self.job, state=self.state, since=since, limit=200
        )

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        title = (
            "Runs"
            + (f"  job={self.job}" if self.job else "")
            + (f"  state={self.state}" if self.state else "")
            + (f"  last {self.window}" if self.window else "")
        )
        self.query_one(".pane-title", Static).update(title)
        return [
            (
                str(r.id),
                [
                    r.id,
                    r.job,
                    coloured(r.state),
                    r.trigger,
                    r.attempt,
                    r.queued_at.strftime("%m-%d %H:%M:%S"),
                    f"{r.duration_s:.1f}s" if r.duration_s is not None else None,
                    (r.error or "")[:60] or None,
                ],
            )
            for r in data
        ]

    def action_cycle_state(self) -> None:
        i = self.STATE_FILTERS.index(self.state)
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
            self.app.push_screen(RunScreen(self.ctx, int(key)))

    def action_cancel(self) -> None:
        key = self.selected_key()
        if key and self.may_change():
            self.in_thread(
                lambda: self.ctx.s.runs.cancel(self.ctx.actor, int(key)),
                lambda _r: self.reload(),
                success=f"cancel requested for run {key}",
            )

    def action_retry(self) -> None:
        key = self.selected_key()
        if key and self.may_change():
            self.in_thread(
                lambda: self.ctx.s.runs.retry(self.ctx.actor, int(key)),
                lambda r: (
                    self.app.notify(f"run {r.id} queued (attempt {r.attempt})"),
                    self.reload(),
                ),
            )


class RunScreen(Screen[None]):
    """One run: details, links, a duration chart of the job's recent runs, the live log."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "cancel", "Cancel"),
        Binding("R", "retry", "Retry"),
        Binding("w", "wrap", "Wrap"),
        Binding("T", "timestamps", "Times"),
        Binding("s", "save", "Save log"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_hit(1)", "Next"),
        Binding("N", "next_hit(-1)", "Previous"),
        Binding("G", "follow", "Follow"),
    ]

    def __init__(self, ctx: Any, run_id: int) -> None:
        super().__init__()
        self.ctx = ctx
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
            self.run_worker(self._fetch, thread=True)

    def _fetch(self) -> None:
        svc, actor = self.ctx.s, self.ctx.actor
        try:
            run = svc.runs.get(actor, self.run_id)
            chunks = svc.runs.logs(actor, self.run_id, after_seq=self._seq, limit=5000)
            history = None  # the duration chart changes only when this run's state does
            if run.state != self._state:
                history = svc.runs.list(actor, run.workspace, job=run.job, limit=30)
                self._state = run.state
        except SadeemError as exc:
            self.app.call_from_thread(self._fetch_failed, str(exc))
            return
        split = [(c.seq, c.at, c.text.splitlines()) for c in chunks]  # off the UI thread
        self.app.call_from_thread(self._show, run, split, history)

    def _fetch_failed(self, message: str) -> None:
        self._fetching = False
        self._done = True  # stop polling; the notification says why
        self.app.notify(message, severity="error", timeout=10)

    def _show(self, run: Any, chunks: list[Any], history: list[Any]) -> None:
        links = "  ".join(f"{k}: {v}" for k, v in run.links.items()) or "-"
        self.query_one("#run-info", Static).update(
            f"[b]run {run.id}[/b]  {run.job} v{run.version}  {coloured(run.state)}  "
            f"trigger {run.trigger}  attempt {run.attempt}  ds {run.logical_date}\n"
            f"external id {run.external_id or '-'}  links {links}\n"
            f"params {run.parameters or '-'}  error {run.error or '-'}"
        )
        if history is not None:
            durations = [r.duration_s or 0.0 for r in reversed(history) if r.finished_at]
            self.query_one(Sparkline).data = durations or [0.0]
        for seq, at, lines in chunks:
            self._seq = seq
            self.log_view.write_lines(lines, at)
        if run.state in TERMINAL and not chunks:
            self._done = True
        self._fetching = False
        self._status()

    def _status(self) -> None:
        log = self.log_view
        parts = [f"{len(log.lines):,} lines", "following" if log.follow else "paused (G follows)"]
        if log.wrap:
            parts.append("wrap")
        if log.needle:
            at = f"{log.current + 1}/" if log.current >= 0 else ""
            parts.append(f"{at}{len(log.hits)} match {log.needle!r}")
        self.query_one("#log-status", Static).update("  ".join(parts))

    def action_back(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.display:
            search.display = False
            self.log_view.focus()
            return
        self.app.pop_screen()

    def _refuse_read_only(self) -> bool:
        if self.app.read_only:  # type: ignore[attr-defined]
            self.app.notify("read-only: this console changes nothing", severity="warning")
            return True
        return False

    def action_cancel(self) -> None:
        if not self._refuse_read_only():
            self._in_thread(
                lambda: self.ctx.s.runs.cancel(self.ctx.actor, self.run_id),
                f"cancel requested for run {self.run_id}",
            )

    def action_retry(self) -> None:
        if not self._refuse_read_only():
            self._in_thread(
                lambda: f"run {self.ctx.s.runs.retry(self.ctx.actor, self.run_id).id} queued"
            )

    def _in_thread(self, fn: Any, message: str | None = None) -> None:
        """Run `fn` in a worker; notify its result (or `message`), or the engine's error."""

        def job() -> None:
            try:
                result = fn()
            except (SadeemError, OSError) as exc:
                self.app.call_from_thread(self.app.notify, str(exc), severity="error")
                return
            self.app.call_from_thread(self.app.notify, message or str(result))

        self.run_worker(job, thread=True)

    def action_wrap(self) -> None:
        self.log_view.set_wrap(not self.log_view.wrap)
        self._status()

    def action_timestamps(self) -> None:
        self.log_view.set_timestamps(not self.log_view.timestamps)

    def action_follow(self) -> None:
        self.log_view.action_scroll_end()
        self._status()

    def action_save(self) -> None:
        path = Path.home() / f"sadeem-run-{self.run_id}.log"
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
