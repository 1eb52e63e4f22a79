"""Jobs: schedule, last run and next fire; create, run now (with parameters), pause/resume."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.panes.base import ListPane
from tui.panes.job_form import job_fields, save_job
from tui.widgets.form import FormField, FormScreen


class JobsPane(ListPane):
    TITLE = "Jobs"
    KEY = "jobs"
    COLUMNS = ("name", "type", "version", "schedule", "next fire", "last run", "upstream")
    ENTER_ACTION = "runs"
    BINDINGS = [
        Binding("r", "run", "Run now"),
        Binding("n", "create", "New SQL job"),
        Binding("S", "create_spark", "New Spark job"),
        Binding("e", "edit", "Edit"),
        Binding("p", "pause", "Pause/resume"),
        Binding("enter", "runs", "Its runs"),
    ]

    def load(self) -> Any:
        ws = self.ctx.workspace
        return self.ctx.s.jobs.list(self.ctx.actor, ws) if ws else []

    def rows(self, data: Any) -> list[tuple[str, list[Any]]]:
        out = []
        for j in data:
            sched = j.schedule
            out.append(
                (
                    j.name,
                    [
                        j.name,
                        j.type,
                        j.version,
                        f"{sched.cron} {sched.timezone}{' (paused)' if sched.paused else ''}"
                        if sched
                        else None,
                        sched.next_fire.strftime("%Y-%m-%d %H:%M")
                        if sched and sched.next_fire
                        else None,
                        j.last_run_state,
                        ",".join(j.upstream) or None,
                    ],
                )
            )
        return out

    def action_run(self) -> None:
        name = self.selected_key()
        if not name or not self.may_change():
            return
        svc, actor, ws = self.ctx.s, self.ctx.actor, self.ctx.workspace

        def ask(job: Any) -> None:
            params = job.definition.get("params") or {}

            def submit(values: dict[str, str]) -> Any:
                chosen = {k: v for k, v in values.items() if v != str(params.get(k, ""))}
                run = svc.runs.trigger(actor, ws, name, parameters=chosen or None)
                return f"run {run.id} of {name} queued"

            fields = [FormField(k, f"parameter {k}", str(v)) for k, v in params.items()]
            self._open_form(FormScreen(f"Run {name} now", fields, submit))

        self.in_thread(lambda: svc.jobs.get(actor, ws, name), ask)

    def _open_form(self, form: FormScreen) -> None:
        self.app.push_screen(form, lambda msg: msg and (self.app.notify(str(msg)), self.reload()))

    def _job_form(self, job_type: str, job: Any = None) -> None:
        svc, actor, ws = self.ctx.s, self.ctx.actor, self.ctx.workspace
        title = f"Edit {job_type} job {job.name}" if job else f"New {job_type} job"
        self._open_form(
            FormScreen(
                title,
                job_fields(job_type, job),
                lambda v: save_job(svc, actor, ws, job_type, v, job),
            )
        )

    def action_create(self) -> None:
        if self.may_change():
            self._job_form("sql")

    def action_create_spark(self) -> None:
        if self.may_change():
            self._job_form("spark")

    def action_edit(self) -> None:
        name = self.selected_key()
        if not name or not self.may_change():
            return
        self.in_thread(
            lambda: self.ctx.s.jobs.get(self.ctx.actor, self.ctx.workspace, name),
            lambda job: self._job_form(job.type, job),
        )

    def action_pause(self) -> None:
        name = self.selected_key()
        if not name or not self.may_change():
            return
        svc, actor, ws = self.ctx.s, self.ctx.actor, self.ctx.workspace

        def toggle() -> str:
            job = svc.jobs.get(actor, ws, name)
            paused = not (job.schedule and job.schedule.paused)
            svc.jobs.pause(actor, ws, name, paused)
            return f"{name} {'paused' if paused else 'resumed'}"

        self.in_thread(toggle, lambda msg: (self.app.notify(msg), self.reload()))

    def action_runs(self) -> None:
        name = self.selected_key()
        if name:
            self.app.show_pane("runs", job=name)  # type: ignore[attr-defined]
