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


def test_open_services_refuses_a_server_db_behind_head(postgres_url: str, tmp_path):
    import pytest

    from engine.errors import SadeemError
    from engine.settings import Settings
    from engine.wiring import open_services

    with pytest.raises(SadeemError, match="sadeem db upgrade"):
        open_services(Settings(data_dir=tmp_path, database_url=postgres_url))
    svc = open_services(Settings(data_dir=tmp_path, database_url=postgres_url), migrate=True)
    svc.close()
    open_services(Settings(data_dir=tmp_path, database_url=postgres_url)).close()


def test_the_database_refuses_a_run_state_or_trigger_the_lifecycle_does_not_name(db_url: str):
    """README: run states are queued, running, cancelling, succeeded, failed, timed_out,
    cancelled, skipped; triggers manual, cli, schedule, retry, upstream. Each is stored; any
    other value is refused by the database itself (a CHECK constraint), even through Core."""
    import pytest
    from sqlalchemy import insert, select, update
    from sqlalchemy.exc import IntegrityError

    from engine.models import Job, JobVersion, Run, Workspace
    from engine.run_states import RunState, Trigger

    readme_states = "queued running cancelling succeeded failed timed_out cancelled skipped"
    readme_triggers = "manual cli schedule retry upstream"
    assert set(RunState) == set(readme_states.split())
    assert set(Trigger) == set(readme_triggers.split())

    CHECK = "(?i)check constraint"  # SQLite: CHECK constraint failed; PostgreSQL: violates
    engine = make_engine(db_url)
    try:
        upgrade(engine)

        def run_row(conn, state: str, trigger: str = "manual") -> None:
            conn.execute(
                insert(Run).values(
                    job_id=job_id,
                    job_version_id=version_id,
                    workspace_id=ws_id,
                    trigger=trigger,
                    created_by="t",
                    state=state,
                )
            )

        with engine.begin() as conn:
            ws_id = conn.execute(
                insert(Workspace)
                .values(name="w", bucket="b", prefix="p", created_by="t")
                .returning(Workspace.id)
            ).scalar_one()
            job_id = conn.execute(
                insert(Job)
                .values(workspace_id=ws_id, name="j", type="sql", created_by="t")
                .returning(Job.id)
            ).scalar_one()
            version_id = conn.execute(
                insert(JobVersion)
                .values(job_id=job_id, version=1, created_by="t")
                .returning(JobVersion.id)
            ).scalar_one()
            for state in readme_states.split():
                run_row(conn, state)
            for trigger in readme_triggers.split():
                run_row(conn, "queued", trigger)
        for bad in ({"state": "done"}, {"state": "QUEUED"}, {"state": "queued", "trigger": "api"}):
            with pytest.raises(IntegrityError, match=CHECK), engine.begin() as conn:
                run_row(conn, **bad)
        with pytest.raises(IntegrityError, match=CHECK), engine.begin() as conn:
            conn.execute(update(Run).values(state="finished"))
        with engine.connect() as conn:
            stored = conn.execute(select(Run.state)).scalars().all()
        assert sorted(stored) == sorted(readme_states.split() + ["queued"] * 5)

        # Downgrade to 0005 drops the constraint (and keeps the rows); up again restores it.
        downgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(update(Run).where(Run.state == "skipped").values(state="legacy"))
            conn.execute(update(Run).where(Run.state == "legacy").values(state="skipped"))
        upgrade(engine)
        with pytest.raises(IntegrityError, match=CHECK), engine.begin() as conn:
            run_row(conn, "done")
    finally:
        engine.dispose()
