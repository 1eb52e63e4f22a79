"""Jobs: schedule, last run and next fire; create, run now (with parameters), pause/resume."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.panes.base import ListPane
from tui.widgets.form import FormField, FormScreen


class JobsPane(ListPane):
    TITLE = "Jobs"
    KEY = "jobs"
    COLUMNS = ("name", "type", "version", "schedule", "next fire", "last run", "upstream")
    ENTER_ACTION = "runs"
    BINDINGS = [
        Binding("r", "run", "Run now"),
        Binding("n", "create", "New SQL job"),
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
        job = next((j for j in svc.jobs.list(actor, ws) if j.name == name), None)
        params = (job.definition.get("params") or {}) if job else {}

        def submit(values: dict[str, str]) -> Any:
            chosen = {k: v for k, v in values.items() if v != str(params.get(k, ""))}
            run = svc.runs.trigger(actor, ws, name, parameters=chosen or None)
            return f"run {run.id} of {name} queued"

        fields = [FormField(k, f"parameter {k}", str(v)) for k, v in params.items()]
        self.app.push_screen(
            FormScreen(f"Run {name} now", fields, submit),
            lambda msg: msg and (self.app.notify(str(msg)), self.reload()),
        )

    def action_create(self) -> None:
        if not self.may_change():
            return
        svc, actor, ws = self.ctx.s, self.ctx.actor, self.ctx.workspace

        def submit(v: dict[str, str]) -> Any:
            job = svc.jobs.create(
                actor,
                ws,
                v["name"].strip(),
                "sql",
                {"sql": v["sql"]},
                connection=v["connection"].strip() or None,
                upstream=[u.strip() for u in v["upstream"].split(",") if u.strip()],
            )
            if v["cron"].strip():
                svc.jobs.set_schedule(
                    actor, ws, job.name, v["cron"].strip(), timezone=v["timezone"].strip() or "UTC"
                )
            return f"job {job.name} created"

        self.app.push_screen(
            FormScreen(
                "New SQL job",
                [
                    FormField("name", "Name"),
                    FormField(
                        "sql", "SQL ({{ workspace }}, {{ ds }}, {{ run_id }})", multiline=True
                    ),
                    FormField("connection", "SQL connection (empty: the workspace's)"),
                    FormField("upstream", "Upstream jobs (comma-separated)"),
                    FormField("cron", "Schedule (cron, empty for none)"),
                    FormField("timezone", "Time zone", "UTC"),
                ],
                submit,
            ),
            lambda msg: msg and (self.app.notify(str(msg)), self.reload()),
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
