"""the database refuses a run state or trigger that the run lifecycle does not name

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:50:00

The values are written out here, not imported from engine.run_states: a migration is
history, and a state added later comes with its own migration (the test that inserts every
RunState value fails until it does).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATES = (
    "queued",
    "running",
    "cancelling",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
)
TRIGGERS = ("manual", "schedule", "retry", "upstream", "cli")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # Batch mode on SQLite (the table is rebuilt with the constraints), ALTER on PostgreSQL.
    with op.batch_alter_table("runs") as batch_op:
        batch_op.create_check_constraint(op.f("ck_runs_state"), _in("state", STATES))
        batch_op.create_check_constraint(op.f("ck_runs_trigger"), _in('"trigger"', TRIGGERS))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_constraint(op.f("ck_runs_trigger"), type_="check")
        batch_op.drop_constraint(op.f("ck_runs_state"), type_="check")
