"""`sadeem job create|edit|show|list|run|pause|resume|schedule -w WORKSPACE`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli
    from engine.views import ScheduleSpec

from engine.cli.inputs import whole
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
            p.add_argument("--type", choices=["sql", "spark"], required=True)
        p.add_argument(
            "--connection",
            help="SQL or Spark connection (sql default: the "
            "workspace's SQL connection or embedded DuckDB)",
        )
        p.add_argument("--sql", help="the SQL text")
        p.add_argument("--sql-file", help="read the SQL from a file")
        p.add_argument("--target-table", help="NAMESPACE.TABLE the final SELECT writes")
        p.add_argument("--mode", choices=["append", "overwrite"])
        p.add_argument(
            "--param",
            action="append",
            metavar="NAME[:TYPE]=DEFAULT",
            help="a parameter, its type (string, int, number, date, bool, identifier; "
            "default string) and its default ({{ params.NAME }})",
        )
        p.add_argument("--app-file", help="spark: main application file (.py or .jar)")
        p.add_argument("--main-class")
        p.add_argument(
            "--arg",
            action="append",
            metavar="ARG",
            help="spark: an argument (may start with -, e.g. --arg --ds)",
        )
        p.add_argument("--conf", action="append", metavar="KEY=VALUE", help="spark conf")
        p.add_argument("--image")
        for key in ("driver-cores", "executor-cores", "executor-instances"):
            p.add_argument(f"--{key}", type=whole(1, MAX_INT))
        p.add_argument("--driver-memory")
        p.add_argument("--executor-memory")
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


def _definition(a, creating: bool) -> dict:
    from engine.cli.inputs import read_text
    from engine.cli.output import parse_assignments

    d: dict = {}
    if a.sql_file:
        d["sql"] = read_text(a.sql_file, "--sql-file")
    elif a.sql:
        d["sql"] = a.sql
    if a.target_table:
        d["target_table"] = a.target_table
    if a.mode:
        d["mode"] = a.mode
    if a.param:
        d["params"], d["param_types"] = parse_params(a.param)
    spark = {
        "main_application_file": a.app_file,
        "main_class": a.main_class,
        "image": a.image,
        "driver_cores": a.driver_cores,
        "executor_cores": a.executor_cores,
        "executor_instances": a.executor_instances,
        "driver_memory": a.driver_memory,
        "executor_memory": a.executor_memory,
    }
    d.update({k: v for k, v in spark.items() if v is not None})
    if a.arg:
        d["arguments"] = a.arg
    if a.conf:
        d["spark_conf"] = parse_assignments(a.conf, "--conf")
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
    """`--arg VALUE` as `--arg=VALUE` in `job create|edit`, so a Spark argument that starts
    with `-` (`--arg --ds`, as the README writes it) is a value, not an unknown option."""
    if "job" not in argv:
        return argv
    out: list[str] = []
    i = argv.index("job")
    out.extend(argv[: i + 1])
    rest = argv[i + 1 :]
    j = 0
    while j < len(rest):
        if rest[j] == "--arg" and j + 1 < len(rest):
            out.append(f"--arg={rest[j + 1]}")
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
