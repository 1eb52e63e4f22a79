"""The job form: the fields of a job of any kind, as its kind declares them (engine.job_kinds),
and the values turned back into the service's arguments. Field names are the definition's
keys, so a ValidationError from the engine lands under the field it names."""

from __future__ import annotations

import shlex
from typing import Any

from engine.errors import ValidationError

# The form is built from the job kinds' declared fields (plain dataclasses, no database).
from engine.job_kinds import JobField, job_kind
from tui.widgets.form import FormField


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
    kind = job_kind(job_type)
    body = [
        FormField(f.name, f.label, _text(f, d.get(f.name)), multiline=f.shape == "multiline")
        for f in kind.fields
        if f.in_form
    ]
    body.append(FormField("connection", kind.connection_label))
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


def _text(f: JobField, value: Any) -> str:
    """A definition's value as its field's form shows it (the declared default if none)."""
    if value is None or value == "":
        value = f.default
    if value is None:
        return ""
    if f.shape == "words":
        return shlex.join(value)
    if f.shape == "mapping":
        return _mapping_text(value)
    return str(value)


def definition_of(job_type: str, v: dict[str, str]) -> dict[str, Any]:
    """The job definition the form describes (the engine validates the rest): a text left
    empty is no key; lists and mappings are always given, so clearing one empties it."""
    d: dict[str, Any] = {}
    for f in job_kind(job_type).fields:
        if not f.in_form:
            continue  # an edit then drops it, as the form never showed it
        text = v.get(f.name, "")
        if f.shape == "words":
            try:
                d[f.name] = shlex.split(text)
            except ValueError as exc:
                raise ValidationError(f"not shell words: {exc}", field=f.name) from None
        elif f.shape == "mapping":
            d[f.name] = parse_mapping(text, f.name)
        elif f.shape == "int":
            number = parse_int(text, f.name)
            if number is not None:
                d[f.name] = number
        elif text.strip():
            d[f.name] = text if f.shape == "multiline" else text.strip()
    d["params"] = parse_mapping(v["params"], "params")
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
