"""Every schedule due at one instant fires in ONE transaction (issue 17, item 1: a lean run
path), keeping the guarantees of one fire per (job, time): a second engine firing the same
times adds nothing, overlap=skip still skips, a paused schedule fires nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from engine.models import Job, Run, Schedule
from engine.runner.scheduler import Scheduler

EVERY_SECOND = "* * * * * *"


def schedules(lake, admin, n: int, behind_s: int, **kw) -> list[int]:
    """`n` every-second jobs whose last fire was `behind_s` seconds ago."""
    for i in range(n):
        lake.jobs.create(admin, "w", f"j{i}", "sql", {"sql": "SELECT 1 AS x"}, **kw.get("job", {}))
        lake.jobs.set_schedule(
            admin, "w", f"j{i}", EVERY_SECOND, catchup="all", overlap=kw.get("overlap", "queue")
        )
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=behind_s)
    with lake.db.session() as s:
        s.execute(update(Schedule).values(last_scheduled_for=since))
        return list(s.scalars(select(Schedule.id)))


def runs_per_job(lake) -> dict[str, list[tuple[datetime, str]]]:
    with lake.db.session() as s:
        rows = s.execute(
            select(Job.name, Run.scheduled_for, Run.state).join(Job, Job.id == Run.job_id)
        ).all()
    out: dict[str, list[tuple[datetime, str]]] = {}
    for name, when, state in rows:
        out.setdefault(name, []).append((when, state))
    return {k: sorted(v) for k, v in out.items()}


def test_all_due_schedules_fire_in_one_transaction(lake, admin):
    sids = schedules(lake, admin, 20, behind_s=3, job={"max_concurrent_runs": 50})
    commits, inserts = [], []
    event.listen(lake.db.engine, "commit", lambda *_: commits.append(1))
    event.listen(
        lake.db.engine,
        "before_cursor_execute",
        lambda _c, _cur, stmt, *_: inserts.append(1) if stmt.startswith("INSERT INTO runs") else 0,
    )
    created = Scheduler(lake).fire(sids)
    assert len(inserts) == 1 and len(commits) == 1
    fired = runs_per_job(lake)
    assert len(fired) == 20 and created == sum(len(v) for v in fired.values())
    assert all(len(v) >= 3 for v in fired.values())  # every second since the last fire


def test_a_second_engine_firing_the_same_times_adds_nothing(lake, admin):
    sids = schedules(lake, admin, 5, behind_s=4, job={"max_concurrent_runs": 50})
    with lake.db.session() as s:
        before = {sid: s.get(Schedule, sid).last_scheduled_for for sid in sids}
    first = Scheduler(lake).fire(sids)
    fired = runs_per_job(lake)
    with lake.db.session() as s:  # the other engine still sees the old marks
        marks = {sid: s.get(Schedule, sid).last_scheduled_for for sid in sids}
        for sid in sids:
            s.execute(
                update(Schedule).where(Schedule.id == sid).values(last_scheduled_for=before[sid])
            )
    again = Scheduler(lake).fire(sids)
    after = runs_per_job(lake)
    assert first > 0
    # Only the times that came due between the two fires are new; none is inserted twice.
    assert again <= len(sids) * 2
    for name, times in after.items():
        whens = [w for w, _ in times]
        assert len(whens) == len(set(whens)), f"{name} fired a time twice"
        assert set(fired[name]) <= set(times)
    with lake.db.session() as s:
        for sid in sids:
            assert s.get(Schedule, sid).last_scheduled_for >= marks[sid]


def test_overlap_skip_and_paused_hold_in_a_batch(lake, admin):
    sids = schedules(lake, admin, 3, behind_s=3, overlap="skip")
    lake.jobs.set_schedule(
        admin, "w", "j2", EVERY_SECOND, catchup="all", overlap="skip", paused=True
    )
    with lake.db.session() as s:
        s.execute(
            update(Schedule).values(last_scheduled_for=datetime.now(UTC) - timedelta(seconds=3))
        )
    Scheduler(lake).fire(sids)
    fired = runs_per_job(lake)
    assert "j2" not in fired  # paused
    for name in ("j0", "j1"):
        states = [state for _, state in fired[name]]
        assert len(states) >= 3
        # The first time queues; the rest of the batch finds it active and is skipped.
        assert states[0] == "queued" and set(states[1:]) == {"skipped"}
