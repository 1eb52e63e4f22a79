"""A toy job kind, declared the way engine/job_kinds/sql.py and spark.py declare theirs (a
dbt or a notebook kind would be the same shape): fields, connection role, check and an
executor that logs its text and succeeds. Nothing else in Sadeem names it; `registered()`
adds it to the registry for one test and removes it after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine import job_kinds
from engine.errors import ValidationError
from engine.job_kinds import JobField, JobKind
from engine.run_states import RunState
from engine.runner.context import Outcome, RunContext

NAME = "echo"
MAX_TIMES = 5


def check(d: dict[str, Any]) -> None:
    if "times" in d and not (isinstance(d["times"], int) and 1 <= d["times"] <= MAX_TIMES):
        raise ValidationError(f"must be a whole number from 1 to {MAX_TIMES}", field="times")


def run_echo(services: Any, rc: RunContext, owners: dict[str, str]) -> Outcome:
    """Log the text `times` times, then succeed."""
    times = rc.definition.get("times", 1)
    for _ in range(times):
        rc.log(f"echo: {rc.definition['text']}")
    return Outcome(RunState.SUCCEEDED, None, {"echoed": times})


KIND = JobKind(
    NAME,
    connection_role="sql",  # needs none: the workspace's default, never used
    summary="logs its text (a test's toy kind)",
    fields=(
        JobField(
            "text",
            "Text to log",
            help="echo: the text its run logs",
            required=True,
            missing="an echo job needs its text",
        ),
        JobField("times", "How many times", "int", help="echo: how often", default=1),
    ),
    executor=f"{__name__}:run_echo",
    check=check,
    connection_label="SQL connection (unused)",
)


@contextmanager
def registered() -> Iterator[JobKind]:
    """The echo kind in the registry for the duration of the block."""
    job_kinds.register(KIND)
    try:
        yield KIND
    finally:
        job_kinds.unregister(NAME)
