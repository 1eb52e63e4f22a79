"""`sadeem run list|show|logs [--follow]|cancel|retry`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

from engine.cli.inputs import whole
from engine.run_states import FINISHED, RunState
from engine.text import plain

COLUMNS = ["id", "job", "state", "trigger", "attempt", "queued_at", "duration_s", "error"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("run", help="runs of jobs")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", parents=[common], help="runs, newest first")
    ls.add_argument("-w", "--workspace", required=True)
    ls.add_argument("--job")
    ls.add_argument("--state")
    ls.add_argument("--since", help="ISO time")
    ls.add_argument("--before", type=whole(1), help="only runs with a smaller id (next page)")
    ls.add_argument("--limit", type=whole(1), default=50)
    ls.set_defaults(handler=list_runs)
    for verb, handler in (("show", "show_run"), ("cancel", "cancel_run"), ("retry", "retry_run")):
        p = verbs.add_parser(verb, parents=[common], help=f"{verb} a run")
        p.add_argument("run_id", type=whole(1))
        p.set_defaults(handler=globals()[handler])
    logs = verbs.add_parser("logs", parents=[common], help="a run's log")
    logs.add_argument("run_id", type=whole(1))
    logs.add_argument("--follow", "-f", action="store_true", help="until the run ends")
    logs.set_defaults(handler=logs_run)


def _view(run):
    from engine.cli.output import to_data

    data = to_data(run)
    data["duration_s"] = round(run.duration_s, 2) if run.duration_s is not None else None
    return data


def list_runs(cli: Cli) -> None:
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


def show_run(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.get(cli.actor, cli.args.run_id)))


def cancel_run(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.cancel(cli.actor, cli.args.run_id)))


def retry_run(cli: Cli) -> None:
    from engine.cli.output import emit

    emit(cli, _view(cli.services.runs.retry(cli.actor, cli.args.run_id)))


def logs_run(cli: Cli) -> int:
    if cli.args.follow:
        if getattr(cli.services, "remote", False):
            return follow_stream(cli, cli.args.run_id)
        return follow(cli, cli.args.run_id, run_engine=False)
    import sys

    for chunk in cli.services.runs.logs(cli.actor, cli.args.run_id, limit=1_000_000):
        sys.stdout.write(plain(chunk.text))
    return 0


def follow(cli: Cli, run_id: int, run_engine: bool) -> int:
    """Print the log as it grows until the run ends; 0 only if it succeeded.

    With `run_engine`, and when no engine holds the scheduler lease, an embedded engine is
    started for the duration, so `job run --wait` works on a machine with no daemon."""
    import sys
    import time

    from engine.cli.output import emit

    svc = cli.services
    engine = None
    # A server runs its own engine; only an embedded CLI may need one for the wait.
    remote = getattr(svc, "remote", False)
    if run_engine and not remote and svc.engine_state.status().lease_holder is None:
        from engine.runner.engine import Engine

        engine = Engine(svc, schedule=False).start()
    seq = 0
    try:
        while True:
            for chunk in svc.runs.logs(cli.actor, run_id, after_seq=seq):
                seq = chunk.seq
                if not cli.json:
                    sys.stdout.write(plain(chunk.text))
                    sys.stdout.flush()
            run = svc.runs.get(cli.actor, run_id)
            if run.state in FINISHED:
                for chunk in svc.runs.logs(cli.actor, run_id, after_seq=seq):
                    seq = chunk.seq
                    if not cli.json:
                        sys.stdout.write(plain(chunk.text))
                break
            time.sleep(0.3)
    except KeyboardInterrupt:
        if not run_engine:  # `run logs --follow`: only the following stops
            print(f"\nstopped following run {run_id}; it goes on", file=sys.stderr)
            return 130
        svc.runs.cancel(cli.actor, run_id)  # `job run --wait`: the run this command started
        print(f"\ncancel requested for run {run_id}", file=sys.stderr)
        run = svc.runs.get(cli.actor, run_id)
    finally:
        if engine is not None:
            engine.stop(grace_s=30)
    if cli.json:
        emit(cli, _view(run))
    else:
        print(
            f"run {run_id}: {run.state}" + (f" ({plain(run.error)})" if run.error else ""),
            file=sys.stderr,
        )
    return 0 if run.state == RunState.SUCCEEDED else 1


def follow_stream(cli: Cli, run_id: int) -> int:
    """`run logs --follow` on a server: the engine streams the lines as the run writes them
    and ends the stream with the run. Ctrl-C stops following (exit 130); the run goes on."""
    import sys

    from engine.cli.output import emit
    from engine.client import RemoteServices

    services = cli.services
    assert isinstance(services, RemoteServices)  # only a thin client streams a follow
    run = None
    stream = services.runs.follow(cli.actor, run_id)
    try:
        for item in stream:
            if hasattr(item, "seq"):  # a LogChunk; the RunView comes last
                if not cli.json:
                    sys.stdout.write(plain(item.text))
                    sys.stdout.flush()
            else:
                run = item
    except KeyboardInterrupt:
        stream.close()
        print(f"\nstopped following run {run_id}; it goes on", file=sys.stderr)
        return 130
    assert run is not None
    if cli.json:
        emit(cli, _view(run))
    else:
        print(
            f"run {run_id}: {run.state}" + (f" ({plain(run.error)})" if run.error else ""),
            file=sys.stderr,
        )
    return 0 if run.state == RunState.SUCCEEDED else 1
