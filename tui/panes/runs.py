"""Runs: a live list (state colours, duration, trigger, attempt), filters, and a detail
screen that follows the log to the end, with cancel, retry and the backend's UI links."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Sparkline, Static

from tui.panes.base import ListPane

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
    ]
    STATE_FILTERS = (None, "running", "failed", "succeeded", "queued")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job: str | None = None
        self.state: str | None = None

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
        return self.ctx.s.runs.list(
            self.ctx.actor, ws, job=self.job, state=self.state, limit=200
        )

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        title = (
            "Runs"
            + (f"  job={self.job}" if self.job else "")
            + (f"  state={self.state}" if self.state else "")
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
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel", "Cancel"),
        Binding("R", "retry", "Retry"),
        Binding("w", "wrap", "Wrap"),
        Binding("s", "save", "Save log"),
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, ctx: Any, run_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.run_id = run_id
        self._seq = 0
        self._text: list[str] = []
        self._done = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="run-info")
            yield Sparkline([], id="durations")
            yield RichLog(id="run-log", wrap=False, markup=False, max_lines=200_000)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.5, self.poll)
        self.poll()

    def poll(self) -> None:
        if not self._done:
            self.run_worker(self._fetch, thread=True, exclusive=True)

    def _fetch(self) -> None:
        svc, actor = self.ctx.s, self.ctx.actor
        run = svc.runs.get(actor, self.run_id)
        chunks = svc.runs.logs(actor, self.run_id, after_seq=self._seq, limit=5000)
        history = svc.runs.list(actor, run.workspace, job=run.job, limit=30)
        self.app.call_from_thread(self._show, run, chunks, history)

    def _show(self, run: Any, chunks: list[Any], history: list[Any]) -> None:
        links = "  ".join(f"{k}: {v}" for k, v in run.links.items()) or "-"
        self.query_one("#run-info", Static).update(
            f"[b]run {run.id}[/b]  {run.job} v{run.version}  {coloured(run.state)}  "
            f"trigger {run.trigger}  attempt {run.attempt}  ds {run.logical_date}\n"
            f"external id {run.external_id or '-'}  links {links}\n"
            f"params {run.parameters or '-'}  error {run.error or '-'}"
        )
        durations = [r.duration_s or 0.0 for r in reversed(history) if r.finished_at]
        self.query_one(Sparkline).data = durations or [0.0]
        log = self.query_one(RichLog)
        for chunk in chunks:
            self._seq = chunk.seq
            for line in chunk.text.splitlines():
                self._text.append(line)
                log.write(line)
        if run.state in ("succeeded", "failed", "timed_out", "cancelled", "skipped") and not chunks:
            self._done = True

    def action_cancel(self) -> None:
        if self.app.read_only:  # type: ignore[attr-defined]
            self.app.notify("read-only", severity="warning")
            return
        self.run_worker(
            lambda: self.ctx.s.runs.cancel(self.ctx.actor, self.run_id), thread=True
        )

    def action_retry(self) -> None:
        if self.app.read_only:  # type: ignore[attr-defined]
            self.app.notify("read-only", severity="warning")
            return

        def job() -> None:
            from engine.errors import SadeemError

            try:
                new = self.ctx.s.runs.retry(self.ctx.actor, self.run_id)
            except SadeemError as exc:
                self.app.call_from_thread(self.app.notify, str(exc), severity="error")
                return
            self.app.call_from_thread(self.app.notify, f"run {new.id} queued")

        self.run_worker(job, thread=True)

    def action_wrap(self) -> None:
        log = self.query_one(RichLog)
        log.wrap = not log.wrap
        log.clear()
        for line in self._text:
            log.write(line)

    def action_save(self) -> None:
        from pathlib import Path

        path = Path.home() / f"sadeem-run-{self.run_id}.log"
        path.write_text("\n".join(self._text) + "\n")
        self.app.notify(f"saved to {path}")

    def action_search(self) -> None:
        from tui.widgets.form import FormField, FormScreen

        def submit(values: dict[str, str]) -> Any:
            needle = values["text"]
            hits = [i for i, line in enumerate(self._text) if needle in line]
            return f"{len(hits)} line(s) match {needle!r}" + (
                f"; first: {self._text[hits[0]][:80]}" if hits else ""
            )

        self.app.push_screen(
            FormScreen("Search the log", [FormField("text", "Text")], submit),
            lambda msg: msg and self.app.notify(str(msg), timeout=8),
        )
