"""`sadeem job create|edit|show|list|run|pause|resume|schedule -w WORKSPACE`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli
    from engine.views import ScheduleSpec

from engine import job_kinds
from engine.cli.inputs import whole
from engine.job_kinds import JobField
from engine.run_states import Trigger

# The jobs table's INTEGER columns.
MAX_INT = 2_147_483_647

COLUMNS = ["name", "type", "connection", "version", "schedule", "last_run_state", "upstream"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("job", help="SQL and Spark jobs")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")

    for verb in ("create", "edit"):
        p = verbs.add_parser(
            verb,
            parents=[common],
            help=f"{verb} a job"
            + (" (a changed definition is a new version)" if verb == "edit" else ""),
        )
        p.add_argument("-w", "--workspace", required=True)
        p.add_argument("name")
        if verb == "create":
            p.add_argument(
                "--type",
                choices=job_kinds.names(),
                required=True,
                help="; ".join(f"{k.name}: {k.summary}" for k in job_kinds.kinds().values()),
            )
        p.add_argument(
            "--connection",
            help="SQL or Spark connection (sql default: the "
            "workspace's SQL connection or embedded DuckDB)",
        )
        p.add_argument(
            "--param",
            action="append",
            metavar="NAME[:TYPE]=DEFAULT",
            help="a parameter, its type (string, int, number, date, bool, identifier; "
            "default string) and its default ({{ params.NAME }})",
        )
        _kind_options(p)
        p.add_argument("--timeout", type=whole(1, MAX_INT), dest="timeout_seconds")
        p.add_argument("--retries", type=whole(0, MAX_INT), dest="max_retries")
        p.add_argument("--retry-backoff", type=whole(0, MAX_INT), dest="retry_backoff_seconds")
        p.add_argument("--max-concurrent", type=whole(1, MAX_INT), dest="max_concurrent_runs")
        p.add_argument("--upstream", action="append", help="a job that must succeed first")
        p.add_argument("--description")
        p.add_argument("--cron", help="schedule: 5-field cron, or 6 with seconds first")
        p.add_argument("--timezone", default="UTC")
        p.add_argument("--catchup", choices=["none", "latest", "all"], default="none")
        p.add_argument("--overlap", choices=["skip", "queue"], default="skip")
        p.add_argument("--paused", action="store_true", help="create the schedule paused")
        p.set_defaults(handler=create_job if verb == "create" else edit_job)

    show = verbs.add_parser("show", parents=[common], help="one job")
    show.add_argument("-w", "--workspace", required=True)
    show.add_argument("name")
    show.set_defaults(handler=show_job)

    ls = verbs.add_parser("list", parents=[common], help="jobs of a workspace")
    ls.add_argument("-w", "--workspace", required=True)
    ls.set_defaults(handler=list_jobs)

    run = verbs.add_parser("run", parents=[common], help="run now")
    run.add_argument("-w", "--workspace", required=True)
    run.add_argument("name")
    run.add_argument("--param", action="append", metavar="NAME=VALUE")
    run.add_argument("--date", dest="logical_date", help="logical date (ds), default today")
    run.add_argument(
        "--wait", action="store_true", help="follow the run; exit non-zero unless it succeeded"
    )
    run.set_defaults(handler=run_job)

    for verb in ("pause", "resume"):
        p = verbs.add_parser(verb, parents=[common], help=f"{verb} the job's schedule")
        p.add_argument("-w", "--workspace", required=True)
        p.add_argument("name")
        p.set_defaults(handler=pause_job, paused=verb == "pause")


def _flagged_fields() -> dict[str, JobField]:
    """Every kind's fields that have a CLI option, by option; a field two kinds both
    declare (the same name) is one option for both."""
    out: dict[str, JobField] = {}
    for kind in job_kinds.kinds().values():
        for f in kind.fields:
            if f.option is not None and f.option not in out:
                out[f.option] = f
    return out


def _kind_options(p: argparse.ArgumentParser) -> None:
    """The options of every kind's definition fields, as each kind declares them; the
    service refuses a field the job's kind does not have."""
    for option, f in _flagged_fields().items():
        dest = _dest(option)
        if f.shape in ("words", "mapping"):
            p.add_argument(option, action="append", dest=dest, metavar=f.metavar, help=f.help)
        elif f.shape == "int":
            p.add_argument(
                option, type=whole(f.minimum, MAX_INT), dest=dest, metavar=f.metavar, help=f.help
            )
        else:
            p.add_argument(
                option, dest=dest, choices=f.choices or None, metavar=f.metavar, help=f.help
            )
        if f.shape == "multiline" and f.file_help:
            p.add_argument(f"{option}-file", help=f.file_help)


def _dest(option: str) -> str:
    """argparse's own dest for an option: what check_argv_text names back as the option."""
    return option[2:].replace("-", "_")


def _definition(a, creating: bool) -> dict:
    from engine.cli.inputs import read_text
    from engine.cli.output import parse_assignments

    d: dict = {}
    for option, f in _flagged_fields().items():
        value = getattr(a, _dest(option), None)
        path = getattr(a, _dest(f"{option}-file"), None)
        if path:
            d[f.name] = read_text(path, f"{option}-file")
        elif value in (None, "", []):
            continue
        elif f.shape == "mapping":
            d[f.name] = parse_assignments(value, option)
        else:
            d[f.name] = value
    if a.param:
        d["params"], d["param_types"] = parse_params(a.param)
    return d


def parse_params(items: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """`NAME[:TYPE]=DEFAULT` options as (defaults, declared types)."""
    from engine.cli.output import parse_assignments

    defaults: dict[str, str] = {}
    types: dict[str, str] = {}
    for key, value in parse_assignments(items, "--param").items():
        name, sep, kind = key.partition(":")
        defaults[name.strip()] = value
        if sep:
            types[name.strip()] = kind.strip()
    return defaults, types


def join_arg_values(argv: list[str]) -> list[str]:
    """`--arg VALUE` as `--arg=VALUE` in `job create|edit` (every option of a kind's list
    field), so a Spark argument that starts with `-` (`--arg --ds`, as the README writes
    it) is a value, not an unknown option."""
    if "job" not in argv:
        return argv
    lists = {o for o, f in _flagged_fields().items() if f.shape == "words"}
    out: list[str] = []
    i = argv.index("job")
    out.extend(argv[: i + 1])
    rest = argv[i + 1 :]
    j = 0
    while j < len(rest):
        if rest[j] in lists and j + 1 < len(rest):
            out.append(f"{rest[j]}={rest[j + 1]}")
            j += 2
            continue
        if rest[j] == "--":
            out.extend(rest[j:])
            break
        out.append(rest[j])
        j += 1
    return out


def _settings(a) -> dict:
    keys = ("timeout_seconds", "max_retries", "retry_backoff_seconds", "max_concurrent_runs")
    return {k: getattr(a, k) for k in keys if getattr(a, k) is not None}


def create_job(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    svc = cli.services.jobs
    view = svc.create(
        cli.actor,
        a.workspace,
        a.name,
        a.type,
        _definition(a, True),
        connection=a.connection,
        description=a.description or "",
        upstream=a.upstream or (),
        schedule=_schedule(a),
        **_settings(a),
    )
    emit(cli, view)


def edit_job(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    svc = cli.services.jobs
    definition = _definition(a, False)
    view = svc.edit(
        cli.actor,
        a.workspace,
        a.name,
        definition=definition or None,
        connection=a.connection,
        description=a.description,
        upstream=a.upstream,
        schedule=_schedule(a),
        **_settings(a),
    )
    emit(cli, view)


def show_job(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, cli.services.jobs.get(cli.actor, cli.args.workspace, cli.args.name))


def list_jobs(cli: Cli) -> None:
    from engine.cli.output import emit, to_data

    jobs = cli.services.jobs.list(cli.actor, cli.args.workspace)
    if cli.json:
        emit(cli, jobs)
        return
    rows = []
    for j in jobs:
        row = to_data(j)
        sched = j.schedule
        row["schedule"] = (
            (
                f"{sched.cron} {sched.timezone}"
                + (" (paused)" if sched.paused else f" next {sched.next_fire:%Y-%m-%d %H:%M}")
            )
            if sched
            else "-"
        )
        rows.append(row)
    emit(cli, rows, COLUMNS)


def pause_job(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    emit(cli, cli.services.jobs.pause(cli.actor, a.workspace, a.name, a.paused))


def run_job(cli: Cli) -> int:
    from engine.cli.output import emit, parse_assignments
    from engine.cli.run import follow

    a = cli.args
    run = cli.services.runs.trigger(
        cli.actor,
        a.workspace,
        a.name,
        parameters=parse_assignments(a.param, "--param") or None,
        trigger=Trigger.CLI,
        logical_date=a.logical_date,
    )
    if not a.wait:
        emit(cli, run)
        return 0
    return follow(cli, run.id, run_engine=True)


def _schedule(a: argparse.Namespace) -> ScheduleSpec | None:
    """The schedule the flags ask for (None without --cron), saved with the job's change."""
    from engine.views import ScheduleSpec

    if not a.cron:
        return None
    return ScheduleSpec(
        a.cron, timezone=a.timezone, catchup=a.catchup, overlap=a.overlap, paused=a.paused
    )
