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
