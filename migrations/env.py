"""Alembic environment: runs against the Engine handed in by `engine.db`, or SADEEM settings."""

from __future__ import annotations

from alembic import context

from engine.models import Base

target_metadata = Base.metadata


def _engine():  # type: ignore[no-untyped-def]
    engine = context.config.attributes.get("engine")
    if engine is None:
        from engine.db import make_engine
        from engine.settings import load_settings

        engine = make_engine(load_settings().effective_database_url)
    return engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `sadeem db upgrade`")
run_migrations_online()
