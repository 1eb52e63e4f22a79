"""Schedules: APScheduler's cron triggers decide *when* to look, the metadata DB decides
*what happened*.

Only the holder of the scheduler lease runs the scheduler; its triggers are rebuilt from our
`schedules` table whenever a schedule changes. One firer thread sleeps until the next due
instant and fires every schedule due then in ONE transaction (services.runs.fire_due): each
schedule fires every due time since its `last_scheduled_for`, as (job_id, scheduled_for)
unique inserts, so a takeover by another engine neither misses nor duplicates a fire. At 50
schedules a second that is one transaction a second, not 50 on a thread pool.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.scheduling import fire_times, next_fire, trigger

log = logging.getLogger("sadeem.scheduler")
RETRY_S = 1.0  # a fire that failed (a DB blip) is tried again this soon, not at the next time


def utcnow() -> datetime:
    return datetime.now(UTC)


def keep(times: list[datetime], policy: str, window_start: datetime) -> list[datetime]:
    """What a catch-up policy keeps of the due times (oldest first)."""
    if policy == "none":
        return []
    if policy == "latest":
        return times[-1:]
    return [t for t in times if t >= window_start]


class Scheduler:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._signature: dict[int, Any] = {}
        self._triggers: dict[int, Any] = {}
        self._next: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self) -> None:
        self._signature, self._triggers, self._next = {}, {}, {}
        self._stop = threading.Event()
        self.sync(catch_up=True)
        self._thread = threading.Thread(
            target=self._fire_loop, args=(self._stop,), name="engine-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        stop, thread = self._stop, self._thread
        if stop is None:
            return
        self._stop, self._thread = None, None
        stop.set()
        self._changed.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)  # a fire in flight ends before another engine takes over
        with self._lock:
            self._signature, self._triggers, self._next = {}, {}, {}

    def sync(self, catch_up: bool = False) -> None:
        """Rebuild triggers for changed schedules; on (re)start apply the catch-up policy."""
        if self._stop is None:  # stop() may run from another thread meanwhile
            return
        rows = {
            sc.id: (sc.cron, sc.timezone, sc.paused, sc.updated_at)
            for sc in self.services.queue.schedules()
        }
        now = utcnow()
        caught: list[int] = []
        with self._lock:
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
                    caught.append(sid)
                trig = trigger(cron, tz)
                self._triggers[sid] = trig
                nxt = next_fire(trig, now)
                if nxt is not None:
                    self._next[sid] = nxt
        if caught:
            self.catch_up_all(caught)
        self._changed.set()

    def _remove(self, sid: int) -> None:
        self._triggers.pop(sid, None)
        self._next.pop(sid, None)

    def _times(self, sc: Any, policy: str | None, now: datetime) -> list[datetime]:
        since = sc.last_scheduled_for or now
        times = fire_times(trigger(sc.cron, sc.timezone), since, now)
        return keep(times, policy or "all", now - timedelta(seconds=sc.catchup_window_seconds))

    def due(self, sid: int, policy: str | None = None) -> list[Any]:
        sc = self.services.queue.schedule(sid)
        if sc is None or sc.paused:
            return []
        return self._times(sc, policy, utcnow())

    def catch_up(self, sid: int) -> int:
        """After downtime: fire what the schedule's catch-up policy keeps of the missed."""
        return self.catch_up_all([sid])

    def catch_up_all(self, sids: Iterable[int]) -> int:
        """catch_up() of several schedules in one transaction; `none` moves the mark to now."""
        now = utcnow()

        def plan(sc: Any) -> tuple[list[datetime], datetime | None]:
            times = self._times(sc, sc.catchup, now)
            return times, times[-1] if times else now if sc.catchup == "none" else None

        return int(self.services.queue.fire_due(sids, plan))

    def fire(self, sids: Iterable[int]) -> int:
        """Fire every due time since their last fire of these schedules, in one transaction."""
        now = utcnow()

        def plan(sc: Any) -> tuple[list[datetime], datetime | None]:
            times = self._times(sc, "all", now)
            return times, times[-1] if times else None

        return int(self.services.queue.fire_due(sids, plan))

    def wake(self, sid: int) -> None:
        """Fire one schedule now (what the firer does for every schedule due at once)."""
        self.fire([sid])

    def _fire_loop(self, stop: threading.Event) -> None:
        """Sleep until the earliest next fire (or a sync), then fire all that are due."""
        while not stop.is_set():
            with self._lock:
                soonest = min(self._next.values(), default=None)
            wait = 3600.0 if soonest is None else (soonest - utcnow()).total_seconds()
            if wait > 0:
                self._changed.wait(min(wait, 3600.0))
                self._changed.clear()
                continue
            now = utcnow()
            with self._lock:
                due = [sid for sid, at in self._next.items() if at <= now]
            try:
                self.fire(due)
                failed = False
            except Exception:  # a DB hiccup must not kill the firer
                log.exception("schedule fire failed", extra={"schedules": len(due)})
                failed = True
            with self._lock:
                for sid in due:
                    trig = self._triggers.get(sid)
                    if trig is None:
                        continue
                    nxt = (
                        now + timedelta(seconds=RETRY_S)
                        if failed
                        else next_fire(trig, now + timedelta(microseconds=1))
                    )
                    if nxt is None:
                        self._next.pop(sid, None)
                    else:
                        self._next[sid] = nxt
