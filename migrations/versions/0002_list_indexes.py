"""indexes for the runs and audit lists' pages under each filter

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 14:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_runs_workspace_id_id": ["workspace_id", "id"],
    "ix_runs_workspace_id_state_id": ["workspace_id", "state", "id"],
    "ix_runs_job_id_id": ["job_id", "id"],
    "ix_runs_job_id_state_id": ["job_id", "state", "id"],
}


# The audit trail's one-column indexes give way to ones that end in its order (at, id).
AUDIT_OLD = {
    "ix_audit_events_at": ["at"],
    "ix_audit_events_username": ["username"],
    "ix_audit_events_workspace": ["workspace"],
    "ix_audit_events_action": ["action"],
}
AUDIT_NEW = {
    "ix_audit_events_at_id": ["at", "id"],
    "ix_audit_events_username_at_id": ["username", "at", "id"],
    "ix_audit_events_workspace_at_id": ["workspace", "at", "id"],
    "ix_audit_events_action_at_id": ["action", "at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("audit_events") as batch_op:
        for name in AUDIT_OLD:
            batch_op.drop_index(name)
        for name, columns in AUDIT_NEW.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        for name in AUDIT_NEW:
            batch_op.drop_index(name)
        for name, columns in AUDIT_OLD.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("runs") as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
