"""The run lifecycle's vocabulary, declared once: the states a run can be in, the named groups
the code asks about, and which state may follow which.

Importable without the database layer (the console's first screen must not wait for
SQLAlchemy): only the standard library. A state is a `StrEnum`, so `RunState.QUEUED ==
"queued"` and a value read back from the database compares equal to its member; the
database refuses any other value (CHECK constraint, migration 0006).
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "queued"  # waiting for an engine to claim it (and for `not_before`)
    RUNNING = "running"  # claimed: an engine executes it (or follows it on a backend)
    CANCELLING = "cancelling"  # a user asked to cancel; the executor is stopping the work
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # a schedule's fire while the previous run was active (overlap=skip)


class Trigger(StrEnum):
    """What created a run."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    RETRY = "retry"
    UPSTREAM = "upstream"
    CLI = "cli"


_S = RunState

# Groups are tuples: ordered, so a query built from one is the same statement every time.
# Not finished yet: counted against a schedule's overlap policy.
ACTIVE: tuple[RunState, ...] = (_S.QUEUED, _S.RUNNING, _S.CANCELLING)
# Finished: the run's outcome; no state follows.
FINISHED: tuple[RunState, ...] = (_S.SUCCEEDED, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED, _S.SKIPPED)
# An engine owns the run and works on it: counted against the concurrency limits.
EXECUTING: tuple[RunState, ...] = (_S.RUNNING, _S.CANCELLING)
# What a user may cancel: a queued run at once, a running one through `cancelling`.
CANCELABLE: tuple[RunState, ...] = (_S.QUEUED, _S.RUNNING)
# What a reconciler may take over when the engine executing it stopped heartbeating (a queued
# run has no owner to lose; it is simply claimed).
ADOPTABLE: tuple[RunState, ...] = EXECUTING
# What a user may retry (a new attempt linked to the run); the retry policy retries
# RETRIED_BY_POLICY on its own.
RETRYABLE: tuple[RunState, ...] = (_S.FAILED, _S.TIMED_OUT, _S.CANCELLED)
RETRIED_BY_POLICY: tuple[RunState, ...] = (_S.FAILED, _S.TIMED_OUT)
# The states a run is created in: queued, or skipped when a schedule's overlap policy says so.
INITIAL: tuple[RunState, ...] = (_S.QUEUED, _S.SKIPPED)

# Which state may follow which (what the services and the runner do):
#   queued -> running      an engine claims it
#   queued -> cancelled    a user cancels it before any engine did
#   running -> queued      a claimed run none of the engine's workers started (graceful stop)
#   running -> cancelling  a user cancels it
#   running -> succeeded | failed | timed_out | cancelled   its outcome
#   cancelling -> cancelled    the work stopped (an outcome that lands meanwhile is cancelled)
#   cancelling -> timed_out    the timeout struck before the cancel was seen
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    _S.QUEUED: frozenset({_S.RUNNING, _S.CANCELLED}),
    _S.RUNNING: frozenset(
        {_S.QUEUED, _S.CANCELLING, _S.SUCCEEDED, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED}
    ),
    _S.CANCELLING: frozenset({_S.CANCELLED, _S.TIMED_OUT}),
    **{state: frozenset() for state in FINISHED},
}


def can_move(a: str, b: str) -> bool:
    """Whether a run in state `a` may go to state `b` (unknown names: never)."""
    try:
        return RunState(b) in TRANSITIONS[RunState(a)]
    except ValueError:
        return False


# The names the code used before the enum; kept so nothing that imports them breaks.
STATES: tuple[RunState, ...] = tuple(RunState)
TERMINAL = FINISHED
TRIGGERS: tuple[Trigger, ...] = tuple(Trigger)
