"""Job definitions: validation that writes nothing, versions, schedules, upstream cycles."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, ValidationError
from tests.engine.runner.conftest import table_rows

SQL = {"sql": "SELECT 1 AS x"}


def test_bad_input_is_refused_and_writes_nothing(lake, admin):
    lake.connections.create(admin, "s3x", "s3", {"endpoint": "http://127.0.0.1:9"})
    lake.jobs.create(admin, "w", "a", "sql", SQL)
    lake.jobs.create(admin, "w", "b", "sql", SQL, upstream=["a"])
    before = table_rows(lake)
    cases = [
        (lambda: lake.jobs.set_schedule(admin, "w", "a", "61 * * * *"), "cron"),
        (lambda: lake.jobs.set_schedule(admin, "w", "a", "not a cron"), "cron"),
        (
            lambda: lake.jobs.set_schedule(admin, "w", "a", "0 * * * *", timezone="Mars/Olympus"),
            "timezone",
        ),
        (lambda: lake.jobs.create(admin, "w", "c", "sql", SQL, connection="s3x"), "connection"),
        (
            lambda: lake.jobs.create(admin, "w", "c", "spark", {"main_application_file": "a.py"}),
            "connection",
        ),
        (lambda: lake.jobs.edit(admin, "w", "a", upstream=["b"]), "upstream"),
        (lambda: lake.jobs.create(admin, "w", "c", "sql", SQL, max_retries=-1), "max_retries"),
        (lambda: lake.jobs.create(admin, "w", "c", "sql", {"sql": "SELECT {{ params.z }}"}), "sql"),
        (lambda: lake.jobs.create(admin, "w", "c", "sql", {"sql": " "}), "sql"),
        (lambda: lake.jobs.create(admin, "w", "c", "sql", {**SQL, "mode": "upsert"}), "mode"),
        (lambda: lake.jobs.create(admin, "w", "Bad Name", "sql", SQL), "name"),
        (lambda: lake.runs.trigger(admin, "w", "a", parameters={"nope": 1}), "parameters"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field, (field, str(info.value))
    assert table_rows(lake) == before


def test_edit_makes_versions_and_runs_keep_theirs(lake, admin):
    lake.jobs.create(admin, "w", "j", "sql", {"sql": "SELECT 1 AS x", "params": {"n": 1}})
    first = lake.runs.trigger(admin, "w", "j")
    view = lake.jobs.edit(admin, "w", "j", definition={"sql": "SELECT 2 AS x"})
    assert view.version == 2 and view.definition["params"] == {"n": 1}
    assert lake.jobs.edit(admin, "w", "j", definition={"sql": "SELECT 2 AS x"}).version == 2
    second = lake.runs.trigger(admin, "w", "j", parameters={"n": 5})
    assert (lake.runs.get(admin, first.id).version, second.version) == (1, 2)
    assert [v["version"] for v in lake.jobs.versions(admin, "w", "j")] == [1, 2]


def test_schedule_pause_resume(lake, admin):
    lake.jobs.create(admin, "w", "j", "sql", SQL)
    view = lake.jobs.set_schedule(admin, "w", "j", "0 6 * * *", timezone="Asia/Riyadh")
    assert view.schedule.next_fire is not None and not view.schedule.paused
    assert lake.jobs.pause(admin, "w", "j").schedule.paused
    with pytest.raises(Conflict):
        lake.jobs.pause(admin, "w", "j")
    assert not lake.jobs.pause(admin, "w", "j", paused=False).schedule.paused


def test_the_jobs_list_shows_each_job_whole_in_a_fixed_number_of_queries(lake, admin):
    """What the Jobs pane lists (upstream, schedule, connection, the newest run's state)
    for every job, with as many database statements for 30 jobs as for 3."""
    from sqlalchemy import event

    lake.jobs.create(admin, "w", "a", "sql", SQL)
    lake.jobs.create(admin, "w", "b", "sql", SQL, upstream=["a"])
    lake.jobs.create(admin, "w", "c", "sql", SQL)
    lake.jobs.set_schedule(admin, "w", "c", "0 3 * * *", timezone="Asia/Riyadh")
    lake.jobs.edit(admin, "w", "c", definition={"sql": "SELECT 2 AS y"})  # version 2
    older = lake.runs.trigger(admin, "w", "a")
    lake.queue.finish(older.id, "failed", error="boom")
    newer = lake.runs.trigger(admin, "w", "a")
    lake.queue.finish(newer.id, "succeeded")

    def listed() -> tuple[dict, int]:
        statements = []
        hook = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(lake.db.engine, "before_cursor_execute", hook)
        try:
            jobs = {j.name: j for j in lake.jobs.list(admin, "w")}
        finally:
            event.remove(lake.db.engine, "before_cursor_execute", hook)
        return jobs, len(statements)

    jobs, few = listed()
    assert sorted(jobs) == ["a", "b", "c"]
    assert jobs["a"].last_run_state == "succeeded"  # the newest run, not the first
    # a succeeded, so its downstream b was queued (the README: downstream jobs start)
    assert jobs["b"].last_run_state == "queued" and jobs["b"].upstream == ["a"]
    assert jobs["c"].last_run_state is None
    assert jobs["a"].upstream == [] and jobs["a"].schedule is None
    assert jobs["c"].schedule is not None and "0 3 * * *" in str(jobs["c"].schedule)
    assert jobs["c"].version == 2 and jobs["c"].definition["sql"] == "SELECT 2 AS y"
    for i in range(27):
        lake.jobs.create(admin, "w", f"more_{i}", "sql", SQL, upstream=["a"])
    jobs, many = listed()
    assert len(jobs) == 30 and jobs["more_26"].upstream == ["a"]
    assert many == few, f"{few} statements for 3 jobs, {many} for 30"
