"""The job form: the fields of a SQL or a Spark job, and the values turned back into the
service's arguments. Field names are the definition's keys, so a ValidationError from the
engine lands under the field it names."""

from __future__ import annotations

import shlex
from typing import Any

from engine.errors import ValidationError
from tui.widgets.form import FormField

INT_SPARK = ("driver_cores", "executor_cores", "executor_instances")
TEXT_SPARK = (
    "main_application_file",
    "app_type",
    "main_class",
    "driver_memory",
    "executor_memory",
    "image",
    "spark_version",
)


def _mapping_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def parse_mapping(text: str, field: str) -> dict[str, str]:
    """`a=1, b=2` (commas or new lines) to a dict; a pair without `=` is a field error."""
    out: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                f"write NAME=VALUE pairs; {part.strip()[:20]!r} has no '='", field=field
            )
        out[key.strip()] = value.strip()
    return out


def parse_int(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ValidationError("must be a whole number", field=field) from None


def job_fields(job_type: str, job: Any = None) -> list[FormField]:
    """The form's fields, filled from `job` (a JobView) when editing."""
    d: dict[str, Any] = dict(job.definition) if job else {}
    sched = job.schedule if job else None
    head = [] if job else [FormField("name", "Name")]
    head.append(FormField("description", "Description", job.description if job else ""))
    if job_type == "sql":
        body = [
            FormField(
                "sql",
                "SQL ({{ workspace }}, {{ ds }}, {{ run_id }}, {{ params.NAME }})",
                d.get("sql", ""),
                multiline=True,
            ),
            FormField(
                "target_table",
                "Target table (NAMESPACE.TABLE, empty: run as is)",
                d.get("target_table") or "",
            ),
            FormField("mode", "Mode (append or overwrite)", d.get("mode") or "append"),
            FormField("connection", "SQL connection (empty: the workspace's)"),
        ]
    else:
        body = [
            FormField(
                "main_application_file",
                "Application file (local:///… or s3a://…)",
                d.get("main_application_file", ""),
            ),
            FormField(
                "app_type",
                "App type (Python, Scala, Java, R; empty: from the file)",
                d.get("app_type", ""),
            ),
            FormField("main_class", "Main class (Scala and Java)", d.get("main_class", "")),
            FormField("arguments", "Arguments (shell words)", shlex.join(d.get("arguments", []))),
            FormField(
                "spark_conf", "Spark conf (key=value, …)", _mapping_text(d.get("spark_conf", {}))
            ),
            FormField("driver_cores", "Driver cores", str(d.get("driver_cores", ""))),
            FormField("driver_memory", "Driver memory (512m, 2g)", d.get("driver_memory", "")),
            FormField("executor_instances", "Executors", str(d.get("executor_instances", ""))),
            FormField("executor_cores", "Executor cores", str(d.get("executor_cores", ""))),
            FormField("executor_memory", "Executor memory", d.get("executor_memory", "")),
            FormField("image", "Image (empty: the connection's)", d.get("image", "")),
            FormField("connection", "Spark connection (empty: the workspace's)"),
        ]
    if job is not None:
        for f in body:
            if f.name == "connection":
                f.label += f"; now {job.connection or 'the default'}"
    tail = [
        FormField(
            "params", "Parameters with defaults (name=value, …)", _mapping_text(d.get("params", {}))
        ),
        FormField(
            "upstream", "Upstream jobs (comma-separated)", ",".join(job.upstream) if job else ""
        ),
        FormField(
            "cron", "Schedule (cron; empty: none, p pauses one)", sched.cron if sched else ""
        ),
        FormField("timezone", "Time zone", sched.timezone if sched else "UTC"),
        FormField("max_retries", "Retries", str(job.max_retries) if job else "0"),
        FormField(
            "timeout_seconds", "Timeout (seconds)", str(job.timeout_seconds or "") if job else ""
        ),
    ]
    return head + body + tail


def definition_of(job_type: str, v: dict[str, str]) -> dict[str, Any]:
    """The job definition the form describes (the engine validates the rest)."""
    params = parse_mapping(v["params"], "params")
    if job_type == "sql":
        d: dict[str, Any] = {"sql": v["sql"], "mode": v["mode"].strip(), "params": params}
        if v["target_table"].strip():
            d["target_table"] = v["target_table"].strip()
        return d
    d = {k: v[k].strip() for k in TEXT_SPARK if v.get(k, "").strip()}
    for key in INT_SPARK:
        number = parse_int(v[key], key)
        if number is not None:
            d[key] = number
    try:
        d["arguments"] = shlex.split(v["arguments"])
    except ValueError as exc:
        raise ValidationError(f"not shell words: {exc}", field="arguments") from None
    d["spark_conf"] = parse_mapping(v["spark_conf"], "spark_conf")
    d["params"] = params
    return d


def save_job(
    svc: Any, actor: Any, ws: str | None, job_type: str, v: dict[str, str], job: Any = None
) -> str:
    """Create (job is None) or edit the job, then its schedule; returns what was done."""
    definition = definition_of(job_type, v)
    upstream = [u.strip() for u in v["upstream"].split(",") if u.strip()]
    limits = {
        "max_retries": parse_int(v["max_retries"], "max_retries") or 0,
        "timeout_seconds": parse_int(v["timeout_seconds"], "timeout_seconds"),
    }
    cron, tz = v["cron"].strip(), v["timezone"].strip() or "UTC"
    from engine.views import ScheduleSpec

    old = job.schedule if job else None
    # Saved with the job in one transaction: a bad cron must not leave a job without it.
    schedule = (
        ScheduleSpec(cron, timezone=tz)
        if cron and (old is None or (old.cron, old.timezone) != (cron, tz))
        else None
    )
    if job is None:
        name = v["name"].strip()
        svc.jobs.create(
            actor,
            ws,
            name,
            job_type,
            definition,
            connection=v["connection"].strip() or None,
            description=v["description"],
            upstream=upstream,
            schedule=schedule,
            **limits,
        )
    else:
        name = job.name
        # An edit replaces the definition, so keys the form cleared really go away.
        removed = {k: None for k in job.definition if k not in definition}
        svc.jobs.edit(
            actor,
            ws,
            name,
            definition={**removed, **definition} if removed else definition,
            connection=v["connection"].strip() or None,
            description=v["description"],
            upstream=upstream,
            schedule=schedule,
            **limits,
        )
    return f"job {name} {'saved' if job else 'created'}"
