"""Jobs: schedule, last run and next fire; create, run now (with parameters), pause/resume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.message import Message

from tui.panes.base import Change, ListPane
from tui.panes.job_form import job_fields, save_job
from tui.widgets.form import FormField, FormScreen

if TYPE_CHECKING:
    from engine.views import JobView


class JobsPane(ListPane["JobView"]):
    TITLE = "Jobs"
    KEY = "jobs"
    COLUMNS = ("name", "type", "version", "schedule", "next fire", "last run", "upstream")
    ENTER_ACTION = "runs"
    LIVE_SECONDS = 2.0  # runs end, schedules fire, others edit: the list follows
    BINDINGS = [
        Change("r", "run", "Run now", id="jobs.run"),
        Change("n", "create", "New SQL job", id="jobs.create"),
        Change("S", "create_spark", "New Spark job", id="jobs.create_spark"),
        Change("e", "edit", "Edit", id="jobs.edit"),
        Change("p", "pause", "Pause/resume", id="jobs.pause"),
        Binding("enter", "runs", "Its runs", id="jobs.runs"),
    ]

    class ShowRuns(Message):
        """The operator asked for the runs of `job` (Enter on its row)."""

        def __init__(self, job: str) -> None:
            super().__init__()
            self.job = job

    def load(self) -> Sequence[JobView]:
        ws = self.session.workspace
        return self.session.s.jobs.list(self.session.actor, ws) if ws else []

    def row(self, j: JobView) -> tuple[str, list[Any]]:
        sched = j.schedule
        return (
            j.name,
            [
                j.name,
                j.type,
                j.version,
                f"{sched.cron} {sched.timezone}{' (paused)' if sched.paused else ''}"
                if sched
                else None,
                sched.next_fire.strftime("%Y-%m-%d %H:%M") if sched and sched.next_fire else None,
                j.last_run_state,
                ",".join(j.upstream) or None,
            ],
        )

    def action_run(self) -> None:
        name = self.selected_key()
        if not name:
            return
        svc, actor, ws = self.session.s, self.session.actor, self.session.workspace

        def ask(job: JobView) -> None:
            params = job.definition.get("params") or {}

            def submit(values: dict[str, str]) -> Any:
                chosen = {k: v for k, v in values.items() if v != str(params.get(k, ""))}
                run = svc.runs.trigger(actor, ws, name, parameters=chosen or None)
                return f"run {run.id} of {name} queued"

            fields = [FormField(k, f"parameter {k}", str(v)) for k, v in params.items()]
            self._open_form(FormScreen(f"Run {name} now", fields, submit, verb="Run"))

        self.in_thread(lambda: svc.jobs.get(actor, ws, name), ask)

    def _open_form(self, form: FormScreen) -> None:
        self.app.push_screen(form, self.answered())

    def _job_form(self, job_type: str, job: JobView | None = None) -> None:
        svc, actor, ws = self.session.s, self.session.actor, self.session.workspace
        title = f"Edit {job_type} job {job.name}" if job else f"New {job_type} job"
        self._open_form(
            FormScreen(
                title,
                job_fields(job_type, job),
                lambda v: save_job(svc, actor, ws, job_type, v, job),
                verb="Save" if job else "Create",
            )
        )

    def action_create(self) -> None:
        self._job_form("sql")

    def action_create_spark(self) -> None:
        self._job_form("spark")

    def action_edit(self) -> None:
        name = self.selected_key()
        if not name:
            return
        self.in_thread(
            lambda: self.session.s.jobs.get(self.session.actor, self.session.workspace, name),
            lambda job: self._job_form(job.type, job),
        )

    def action_pause(self) -> None:
        name = self.selected_key()
        if not name:
            return
        svc, actor, ws = self.session.s, self.session.actor, self.session.workspace

        def toggle() -> str:
            job = svc.jobs.get(actor, ws, name)
            paused = not (job.schedule and job.schedule.paused)
            svc.jobs.pause(actor, ws, name, paused)
            return f"{name} {'paused' if paused else 'resumed'}"

        self.in_thread(toggle, self.answered())

    def action_runs(self) -> None:
        name = self.selected_key()
        if name:
            self.post_message(self.ShowRuns(name))
