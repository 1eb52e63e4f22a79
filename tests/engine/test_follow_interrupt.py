"""Ctrl-C while following a run's log (README, "CLI": exit 130). `run logs --follow` only
stops following: the run may be somebody else's and goes on. `job run --wait` cancels the
run the command itself started."""

from __future__ import annotations

from types import SimpleNamespace


class _Runs:
    def __init__(self) -> None:
        self.cancelled: list[int] = []

    def logs(self, actor, run_id, after_seq=0):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # the operator's Ctrl-C, while waiting for the next lines

    def cancel(self, actor, run_id):  # type: ignore[no-untyped-def]
        self.cancelled.append(run_id)

    def get(self, actor, run_id):  # type: ignore[no-untyped-def]
        return SimpleNamespace(state="cancelling", error=None, duration_s=None)


def _cli(runs: _Runs) -> SimpleNamespace:
    # A stand-in for a daemon holding the lease, so `job run --wait` starts no engine here.
    status = SimpleNamespace(lease_holder="daemon")
    engine_state = SimpleNamespace(status=lambda: status)
    services = SimpleNamespace(runs=runs, engine_state=engine_state)
    return SimpleNamespace(services=services, actor=None, json=False)


def test_ctrl_c_in_run_logs_follow_leaves_the_run_alone(capsys):
    from engine.cli.run import follow

    runs = _Runs()
    assert follow(_cli(runs), 7, run_engine=False) == 130  # type: ignore[arg-type]
    assert runs.cancelled == []
    assert "stopped following run 7" in capsys.readouterr().err


def test_ctrl_c_in_job_run_wait_cancels_the_run_it_started(capsys):
    from engine.cli.run import follow

    runs = _Runs()
    assert follow(_cli(runs), 8, run_engine=True) == 1  # type: ignore[arg-type]
    assert runs.cancelled == [8]
    assert "cancel requested for run 8" in capsys.readouterr().err
