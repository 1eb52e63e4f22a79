"""Wakes the dispatcher when there may be work: a run queued or a slot freed.

In-process, a threading.Event that the run service sets after it commits a queued run or
an ended one. Across processes on PostgreSQL, `NOTIFY sadeem_runs` after the commit, and
one LISTEN connection per engine process that sets the same Event. The NOTIFY is sent by a
thread of its own on its own connection, at most one per NOTIFY_EVERY_S however many runs
were queued meanwhile: PostgreSQL serialises every committing transaction that notified,
cluster-wide (a global lock held through the WAL flush), so a NOTIFY inside each fire's
transaction made 50 fires a second queue behind one another's fsync. The dispatcher still
polls, at a long interval: a lost notification (the listen connection dropped, a SQLite
peer process) costs a poll's delay, never a run.
"""

from __future__ import annotations

import contextlib
import logging
import select as _select
import threading
from typing import Any

log = logging.getLogger("sadeem.runner")

CHANNEL = "sadeem_runs"
NOTIFY_EVERY_S = 0.01


class Wake:
    def __init__(self, db: Any) -> None:
        self._db = db
        self._event = threading.Event()
        self._listener: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pending = threading.Event()
        self._notifier: threading.Thread | None = None

    def set(self) -> None:
        """Something may be claimable for an engine of this process (a slot freed)."""
        self._event.set()

    def announce(self) -> None:
        """A run was queued (committed): wake this process's engine and, on PostgreSQL,
        every other's."""
        self._event.set()
        if self._db.dialect != "postgresql":
            return
        self._pending.set()
        if self._notifier is None:
            with self._lock:
                if self._notifier is None:
                    self._notifier = threading.Thread(
                        target=self._notify_loop, name="engine-notify", daemon=True
                    )
                    self._notifier.start()

    def wait(self, timeout: float) -> bool:
        """Until something may be claimable or `timeout`; True when woken. Starts the
        cross-process listener on first use (PostgreSQL only)."""
        if self._listener is None and self._db.dialect == "postgresql":
            self._listen()
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken

    def close(self) -> None:
        self._closed.set()
        self._pending.set()

    def _notify_loop(self) -> None:
        raw: Any = None
        while not self._closed.is_set():
            self._pending.wait(1.0)
            if self._closed.is_set():
                break
            if not self._pending.is_set():
                continue
            self._pending.clear()
            try:
                if raw is None:
                    raw = self._db.engine.raw_connection()
                    raw.driver_connection.autocommit = True
                with raw.driver_connection.cursor() as cur:
                    cur.execute(f"NOTIFY {CHANNEL}")
            except Exception as exc:  # the other engines' polls cover a lost one
                log.warning("run notification not sent: %s", exc.__class__.__name__)
                if raw is not None:
                    with contextlib.suppress(Exception):
                        raw.invalidate()
                raw = None
            self._closed.wait(NOTIFY_EVERY_S)
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.invalidate()

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = threading.Thread(
                target=self._listen_loop, name="engine-listen", daemon=True
            )
            self._listener.start()

    def _listen_loop(self) -> None:
        failed = False
        while not self._closed.is_set():
            try:
                raw = self._db.engine.raw_connection()
            except Exception as exc:  # the DB may blip: the poll covers the gap
                if not failed:  # said once, not every 5 s for as long as it lasts
                    log.warning("run notifications unavailable: %s", exc.__class__.__name__)
                failed = True
                self._closed.wait(5)
                continue
            failed = False
            try:
                dbapi = raw.driver_connection
                dbapi.autocommit = True
                with dbapi.cursor() as cur:
                    cur.execute(f"LISTEN {CHANNEL}")
                self._event.set()  # anything queued while we were not listening
                while not self._closed.is_set():
                    if _select.select([dbapi], [], [], 1.0)[0]:
                        dbapi.poll()
                        if dbapi.notifies:
                            dbapi.notifies.clear()
                            self._event.set()
            except Exception as exc:
                log.warning("run notifications lost: %s", exc.__class__.__name__)
                self._closed.wait(1)
            finally:
                with contextlib.suppress(Exception):
                    raw.invalidate()  # never back to the pool in LISTEN mode
