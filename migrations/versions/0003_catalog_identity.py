"""the embedded catalog's identity, so a deleted or replaced catalog.db is refused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_identities",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("identity", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_catalog_identities")),
    )


def downgrade() -> None:
    op.drop_table("catalog_identities")
