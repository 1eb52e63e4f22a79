"""Alembic from empty to head and back on both databases; models and migrations agree."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import migrations
from engine.db import (
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    stored_revision,
    upgrade,
)
from engine.models import Base


def test_upgrade_downgrade_and_no_drift(db_url: str):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None and stored_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        # The constant that lets a current DB open without Alembic is Alembic's head.
        assert stored_revision(engine) == migrations.HEAD == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
        downgrade(engine, "base")
        assert current_revision(engine) is None and stored_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)  # and up again: downgrade left nothing behind that blocks it
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_open_engine_refuses_a_server_db_behind_head(postgres_url: str, tmp_path):
    import pytest

    from engine.app import open_engine
    from engine.errors import SadeemError
    from engine.settings import Settings

    with pytest.raises(SadeemError, match="sadeem db upgrade"):
        open_engine(Settings(data_dir=tmp_path, database_url=postgres_url))
    svc = open_engine(Settings(data_dir=tmp_path, database_url=postgres_url), migrate=True)
    svc.close()
    open_engine(Settings(data_dir=tmp_path, database_url=postgres_url)).close()
