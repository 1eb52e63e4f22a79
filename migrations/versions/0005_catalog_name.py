"""iceberg_sql connections name their catalog: `catalog_name`, kept as they read it

Until now an iceberg_sql connection read (and provisioned) the JDBC catalog named like the
connection itself; `catalog_name` is now a field of the kind (default `sadeem`, the
embedded catalog's). Existing connections get their own name in it, so a workspace keeps
seeing the tables it had.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_connections = sa.table(
    "connections",
    sa.column("id", sa.BigInteger()),
    sa.column("name", sa.String()),
    sa.column("type", sa.String()),
    sa.column("config", sa.JSON()),
)


def _rewrite(change: Callable[[str, dict], dict | None]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_connections.c.id, _connections.c.name, _connections.c.config).where(
            _connections.c.type == "iceberg_sql"
        )
    ).all()
    for row_id, name, config in rows:
        new = change(name, dict(config or {}))
        if new is not None:
            bind.execute(
                sa.update(_connections).where(_connections.c.id == row_id).values(config=new)
            )


def upgrade() -> None:
    def add(name: str, config: dict) -> dict | None:
        if config.get("catalog_name"):
            return None
        return {**config, "catalog_name": name}

    _rewrite(add)


def downgrade() -> None:
    def drop(name: str, config: dict) -> dict | None:
        if "catalog_name" not in config:
            return None
        return {k: v for k, v in config.items() if k != "catalog_name"}

    _rewrite(drop)
