"""The engine process: heartbeat, scheduler lease, dispatcher and reconciliation.

The console embeds one (engine/runner/embedded.py); `sadeem engine serve` runs one headless.
Several may share a PostgreSQL metadata DB: any of them executes queued runs, only the lease
holder fires schedules. An embedded engine is the exception: it runs only under the lease,
and gives the lease up to a daemon that asks for it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from typing import Any

from engine.runner.dispatcher import Dispatcher
from engine.runner.reconcile import Reconciler
from engine.runner.scheduler import Scheduler

log = logging.getLogger("sadeem.engine")
LEASE = "scheduler"
# A daemon that cannot get the scheduler lease asks for it with this one (a lease too, so a
# request dies with its asker); an embedded engine holding the lease hands it over.
WANTED = "scheduler.wanted"


class Engine:
    def __init__(
        self,
        services: Any,
        *,
        engine_id: str | None = None,
        schedule: bool = True,
        dispatch: bool = True,
        poll_interval: float = 1.0,
        embedded: bool = False,
    ) -> None:
        settings = services.settings
        self.services = services
        self.id = engine_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.schedule_enabled = schedule
        self.dispatch_enabled = dispatch
        self.poll_interval = poll_interval
        self.heartbeat_s = settings.heartbeat_seconds
        self.lease_s = settings.lease_seconds
        self.grace_s = settings.shutdown_grace_seconds
        self.dispatcher = Dispatcher(
            services, self.id, settings.max_concurrent_runs, settings.workspace_max_concurrent_runs
        )
        self.scheduler = Scheduler(services)
        self.reconciler = Reconciler(services, self.id, stale_after_s=self.lease_s)
        self._stop = threading.Event()
        # The heartbeat's lease tick may start the scheduler; stop() takes this lock too, so a
        # stop that lands mid-tick never leaves an APScheduler running after the engine ended.
        self._lease_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.holds_lease = False
        # Embedded (a console's): claim runs only while holding the lease, so two consoles
        # never both run them, and hand the lease to a daemon that asks (`handed_over`).
        self.embedded = embedded
        self.handed_over = False
        # When each loop last went round (monotonic): /healthz fails when one stops.
        self.ticks: dict[str, float] = {}

    def start(self) -> Engine:
        state = self.services.engine_state
        state.heartbeat(self.id, socket.gethostname(), os.getpid())
        self.reconciler.sweep()
        self._spawn(self._heartbeat_loop, "heartbeat")
        if self.dispatch_enabled:
            self._spawn(self._dispatch_loop, "dispatch")
        log.info("engine started", extra={"engine": self.id})
        return self

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _heartbeat_loop(self) -> None:
        state = self.services.engine_state
        last_sweep = time.monotonic()
        while not self._stop.is_set():
            try:
                state.heartbeat(self.id, socket.gethostname(), os.getpid())
                if self.schedule_enabled:
                    with self._lease_lock:
                        if not self._stop.is_set():
                            self._lease_tick()
                if time.monotonic() - last_sweep >= self.lease_s / 2:
                    last_sweep = time.monotonic()
                    self.reconciler.sweep()
            except Exception:  # the metadata DB may blip; keep beating
                log.exception("heartbeat failed")
            self.ticks["heartbeat"] = time.monotonic()  # round done, however it went
            self._stop.wait(self.heartbeat_s)

    def _lease_tick(self) -> None:
        state = self.services.engine_state
        if self.embedded and (self.handed_over or state.holder(WANTED) is not None):
            self._hand_over()
            return
        held = state.acquire_lease(LEASE, self.id, self.lease_s)
        if not self.embedded:
            if not held:  # ask, so an embedded holder steps aside on its next heartbeat
                state.acquire_lease(WANTED, self.id, self.lease_s)
            elif not self.holds_lease:
                state.release_lease(WANTED, self.id)
        # Held from the moment the row says so: starting the scheduler (a catch-up per
        # schedule) can take seconds on a busy database, and nothing else waits on it.
        self.holds_lease = held
        if held and not self.scheduler.running:
            log.info("took the scheduler lease", extra={"engine": self.id})
            self.scheduler.start()
        elif held:
            self.scheduler.sync()
        elif self.scheduler.running:
            log.warning("lost the scheduler lease", extra={"engine": self.id})
            self.scheduler.stop()

    def _hand_over(self) -> None:
        """Stop claiming and scheduling, then free the lease for the daemon that asked."""
        if self.handed_over:
            return
        log.info(
            "a daemon asks for the scheduler lease; handing it over", extra={"engine": self.id}
        )
        self.handed_over = True
        self.holds_lease = False
        self.scheduler.stop()
        self.services.engine_state.release_lease(LEASE, self.id)

    def _dispatch_loop(self) -> None:
        """Claim whenever the run service says there may be work (a run queued, in this
        process or, on PostgreSQL, any other; a run ended, so a slot freed), and every
        `poll_interval` whatever: the wake-up is the fast path, the poll the safety net
        (a retry whose backoff ran out, a SQLite peer process, a lost notification)."""
        wake = self.services.wake
        while not self._stop.is_set():
            self.ticks["dispatch"] = time.monotonic()
            if self.embedded and not self.holds_lease:
                self._stop.wait(self.poll_interval)
                continue
            try:
                started = self.dispatcher.tick()
            except Exception:
                log.exception("claim failed")
                started = []
            if not started:
                wake.wait(self.poll_interval)

    def stop(self, grace_s: float | None = None) -> list[int]:
        """Stop claiming, let running runs finish up to the grace period, release the lease.
        Runs still going after it are left for another engine to reconcile."""
        self._stop.set()
        self.services.wake.set()  # out of its wait, to see the stop
        with self._lease_lock:
            self.scheduler.stop()
        pending = self.dispatcher.stop(self.grace_s if grace_s is None else grace_s)
        state = self.services.engine_state
        state.release_lease(LEASE, self.id)
        state.release_lease(WANTED, self.id)
        state.stopped(self.id)
        for thread in self._threads:
            thread.join(timeout=5)
        log.info("engine stopped", extra={"engine": self.id, "unfinished": pending})
        return pending

    def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully."""
        done = threading.Event()

        def handler(signum: int, _frame: Any) -> None:
            log.info("signal received; stopping", extra={"signal": signum})
            done.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        self.start()
        done.wait()
        self.stop()
