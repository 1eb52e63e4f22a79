"""`sadeem run list|show|logs [--follow]|cancel|retry`."""

from __future__ import annotations

import argparse

COLUMNS = ["id", "job", "state", "trigger", "attempt", "queued_at", "duration_s", "error"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("run", help="runs of jobs")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", parents=[common], help="runs, newest first")
    ls.add_argument("-w", "--workspace", required=True)
    ls.add_argument("--job")
    ls.add_argument("--state")
    ls.add_argument("--since", help="ISO time")
    ls.add_argument("--before", type=int, help="only runs with a smaller id (next page)")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(handler=list_runs)
    for verb, handler in (("show", "show_run"), ("cancel", "cancel_run"), ("retry", "retry_run")):
        p = verbs.add_parser(verb, parents=[common], help=f"{verb} a run")
        p.add_argument("run_id", type=int)
        p.set_defaults(handler=globals()[handler])
    logs = verbs.add_parser("logs", parents=[common], help="a run's log")
    logs.add_argument("run_id", type=int)
    logs.add_argument("--follow", "-f", action="store_true", help="until the run ends")
    logs.set_defaults(handler=logs_run)


def _view(run):  # type: ignore[no-untyped-def]
    from engine.cli.output import to_data

    data = to_data(run)
    data["duration_s"] = round(run.duration_s, 2) if run.duration_s is not None else None
    return data


def list_runs(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.audit import parse_time
    from engine.cli.output import emit

    a = cli.args
    runs = cli.services.runs.list(
        cli.actor,
        a.workspace,
        job=a.job,
        state=a.state,
        since=parse_time(a.since, "--since"),
        before_id=a.before,
        limit=a.limit,
    )
    emit(cli, [_view(r) for r in runs], COLUMNS)


def show_run(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.get(cli.actor, cli.args.run_id)))


def cancel_run(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.cancel(cli.actor, cli.args.run_id)))


def retry_run(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.retry(cli.actor, cli.args.run_id)))


def logs_run(cli) -> int:  # type: ignore[no-untyped-def]
    if cli.args.follow:
        return follow(cli, cli.args.run_id, run_engine=False)
    import sys

    for chunk in cli.services.runs.logs(cli.actor, cli.args.run_id, limit=1_000_000):
        sys.stdout.write(chunk.text)
    return 0


def follow(cli, run_id: int, run_engine: bool) -> int:  # type: ignore[no-untyped-def]
    """Print the log as it grows until the run ends; 0 only if it succeeded.

    With `run_engine`, and when no engine holds the scheduler lease, an embedded engine is
    started for the duration, so `job run --wait` works on a machine with no daemon."""
    import sys
    import time

    from engine.cli.output import emit

    svc = cli.services
    engine = None
    if run_engine and svc.engine_state.status().lease_holder is None:
        from engine.runner.engine import Engine

        engine = Engine(svc, schedule=False).start()
    seq = 0
    try:
        while True:
            for chunk in svc.runs.logs(cli.actor, run_id, after_seq=seq):
                seq = chunk.seq
                if not cli.json:
                    sys.stdout.write(chunk.text)
                    sys.stdout.flush()
            run = svc.runs.get(cli.actor, run_id)
            if run.state in ("succeeded", "failed", "timed_out", "cancelled", "skipped"):
                for chunk in svc.runs.logs(cli.actor, run_id, after_seq=seq):
                    seq = chunk.seq
                    if not cli.json:
                        sys.stdout.write(chunk.text)
                break
            time.sleep(0.3)
    except KeyboardInterrupt:
        svc.runs.cancel(cli.actor, run_id)
        print(f"\ncancel requested for run {run_id}", file=sys.stderr)
        run = svc.runs.get(cli.actor, run_id)
    finally:
        if engine is not None:
            engine.stop(grace_s=30)
    if cli.json:
        emit(cli, _view(run))
    else:
        print(
            f"run {run_id}: {run.state}" + (f" ({run.error})" if run.error else ""), file=sys.stderr
        )
    return 0 if run.state == "succeeded" else 1
