"""The run lifecycle in engine/run_states.py is the one the README describes.

The expectations are written from the README's "Run states" paragraphs, not read from the
module: a transition added to or dropped from the table without the README fails here."""

import pytest

from engine.run_states import (
    ACTIVE,
    ADOPTABLE,
    CANCELABLE,
    FINISHED,
    STATES,
    TERMINAL,
    TRANSITIONS,
    TRIGGERS,
    RunState,
    Trigger,
    can_move,
)

# README: "Run states: queued, running, cancelling, succeeded, failed, timed_out, cancelled,
# skipped; triggers manual, cli, schedule, retry, upstream."
README_STATES = {
    "queued",
    "running",
    "cancelling",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
}
README_TRIGGERS = {"manual", "cli", "schedule", "retry", "upstream"}

# README, the run lifecycle, sentence by sentence.
README_MOVES = {
    # "An engine claims a queued run: running"
    ("queued", "running"),
    # "a graceful stop hands a claimed run that no worker started back: queued"
    ("running", "queued"),
    # "Cancel takes a queued run to cancelled at once and a running one to cancelling"
    ("queued", "cancelled"),
    ("running", "cancelling"),
    # "which ends cancelled when the executor has stopped the work, or timed_out when the
    # timeout struck first"
    ("cancelling", "cancelled"),
    ("cancelling", "timed_out"),
    # "A running run ends succeeded, failed, timed_out or cancelled."
    ("running", "succeeded"),
    ("running", "failed"),
    ("running", "timed_out"),
    ("running", "cancelled"),
}
# "succeeded, failed, timed_out, cancelled and skipped are final: no state follows them"
README_FINAL = {"succeeded", "failed", "timed_out", "cancelled", "skipped"}


def test_states_and_triggers_are_the_readmes():
    assert {s.value for s in RunState} == README_STATES
    assert {t.value for t in Trigger} == README_TRIGGERS
    # The names used before the enum still hold the same values.
    assert set(STATES) == README_STATES and set(TRIGGERS) == README_TRIGGERS
    assert set(TERMINAL) == set(FINISHED) == README_FINAL


def test_the_transitions_table_is_the_readmes_lifecycle():
    table = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == README_MOVES
    assert set(TRANSITIONS) == README_STATES  # every state has its row, final ones empty
    for a in README_STATES:
        for b in README_STATES:
            assert can_move(a, b) == ((a, b) in README_MOVES), (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("succeeded", "running"),  # final: a retry is a new run, never a state change
        ("failed", "queued"),
        ("skipped", "queued"),
        ("cancelling", "running"),  # a cancel is not taken back
        ("cancelling", "succeeded"),  # an outcome landing during a cancel is cancelled
        ("queued", "succeeded"),  # nothing ends without having run
        ("queued", "queued"),
        ("queued", "done"),  # not a state
        ("done", "queued"),
    ],
)
def test_can_move_refuses(a: str, b: str):
    assert not can_move(a, b)


def test_groups_say_what_the_readme_says():
    # Active and finished split the states; finished ones are the final ones.
    assert set(ACTIVE) | set(FINISHED) == README_STATES
    assert not set(ACTIVE) & set(FINISHED)
    # "Cancel takes a queued run to cancelled at once and a running one to cancelling"
    assert set(CANCELABLE) == {"queued", "running"}
    # "another engine re-adopts the runs that were running or cancelling; a queued run is
    # simply claimed"
    assert set(ADOPTABLE) == {"running", "cancelling"}
    # A member compares equal to the string stored in the database and read back.
    assert RunState("timed_out") == "timed_out" and f"{RunState.TIMED_OUT}" == "timed_out"
