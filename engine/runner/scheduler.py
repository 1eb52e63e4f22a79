"""Schedules: APScheduler decides *when* to look, the metadata DB decides *what happened*.

Only the holder of the scheduler lease runs the APScheduler; its triggers are rebuilt from
our `schedules` table whenever a schedule changes. A wake-up fires every due time since the
schedule's `last_scheduled_for`, as (job_id, scheduled_for) unique inserts, so a takeover by
another engine neither misses nor duplicates a fire.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.models import Schedule, utcnow
from engine.scheduling import fire_times, trigger

log = logging.getLogger("sadeem.scheduler")


class Scheduler:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._aps: Any = None
        self._signature: dict[int, Any] = {}

    @property
    def running(self) -> bool:
        return self._aps is not None

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._aps = BackgroundScheduler(timezone="UTC")
        self._aps.start()
        self._signature = {}
        self.sync(catch_up=True)

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
            self._signature = {}

    def sync(self, catch_up: bool = False) -> None:
        """Rebuild triggers for changed schedules; on (re)start apply the catch-up policy."""
        aps = self._aps  # stop() may clear it from another thread meanwhile
        if aps is None:
            return
        with self.services.db.session() as s:
            rows = {
                sc.id: (sc.cron, sc.timezone, sc.paused, sc.updated_at)
                for sc in s.scalars(select(Schedule))
            }
        for sid in set(self._signature) - set(rows):
            self._remove(sid)
        for sid, sig in rows.items():
            if self._signature.get(sid) == sig:
                continue
            self._signature[sid] = sig
            self._remove(sid)
            cron, tz, paused, _ = sig
            if paused:
                continue
            if catch_up:
                self.catch_up(sid)
            aps.add_job(
                self.wake,
                trigger(cron, tz),
                args=[sid],
                id=f"schedule-{sid}",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=None,
                max_instances=1,
            )

    def _remove(self, sid: int) -> None:
        if self._aps is not None and self._aps.get_job(f"schedule-{sid}"):
            self._aps.remove_job(f"schedule-{sid}")

    def due(self, sid: int, policy: str | None = None) -> list[Any]:
        now = utcnow()
        with self.services.db.session() as s:
            sc = s.get(Schedule, sid)
            if sc is None or sc.paused:
                return []
            since = sc.last_scheduled_for or now
            times = fire_times(trigger(sc.cron, sc.timezone), since, now)
            policy = policy or "all"
            if policy == "none":
                return []
            if policy == "latest":
                return times[-1:]
            window = now - timedelta(seconds=sc.catchup_window_seconds)
            return [t for t in times if t >= window]

    def catch_up(self, sid: int) -> int:
        """After downtime: fire what the schedule's catch-up policy keeps of the missed."""
        with self.services.db.session() as s:
            sc = s.get(Schedule, sid)
            policy = sc.catchup if sc else "none"
        times = self.due(sid, policy)
        created = self.services.runs.fire(sid, times) if times else 0
        if policy == "none":
            self._mark(sid)
        return created

    def _mark(self, sid: int) -> None:
        with self.services.db.session() as s:
            sc = s.get(Schedule, sid)
            if sc is not None:
                sc.last_scheduled_for = utcnow()

    def wake(self, sid: int) -> None:
        """An APScheduler fire: insert every due run since the last one handled."""
        try:
            times = self.due(sid)
            if times:
                self.services.runs.fire(sid, times)
        except Exception:  # a DB hiccup must not kill APScheduler's job
            log.exception("schedule fire failed", extra={"schedule_id": sid})
