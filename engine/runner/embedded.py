"""The engine a console embeds: running while no other engine does, handed to a daemon.

A console looks at the scheduler lease every `heartbeat_seconds` for as long as it is open,
not once at start:

- nobody holds the lease and no daemon asks for it: the console takes the lease (one
  conditional statement, so two consoles never both do) and starts an embedded engine under
  it, which claims runs only while it holds the lease;
- a daemon asks for the lease (`sadeem engine serve` started): the embedded engine hands it
  over on its next heartbeat and the console stops it;
- the lease went to someone else (this process stalled past its expiry), or the session may
  not run an engine any more (read-only): the console stops it.

A console killed with -9 stops renewing: its lease expires after `lease_seconds` and the
next console or daemon takes it. Runs the dead engine left `running` are reconciled by the
engine that comes next.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from engine.runner.engine import LEASE, WANTED, Engine
from engine.services.engine_state import CONSOLE_ENGINE_PREFIX

log = logging.getLogger("sadeem.engine")


class EmbeddedEngine:
    """Starts and stops this console's engine as the lease says; `engine` is the one running."""

    def __init__(
        self,
        services: Any,
        *,
        every_s: float | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        self.services = services
        self.every_s = services.settings.heartbeat_seconds if every_s is None else every_s
        self.poll_interval = poll_interval
        self.engine: Engine | None = None
        # Until `follow()`: the console does not know yet whether its session is read-only.
        self._allowed: Callable[[], bool] = lambda: False
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def id(self) -> str | None:
        """The running engine's id (what the lease names), None while none runs."""
        engine = self.engine
        return engine.id if engine is not None else None

    def follow(self, allowed: Callable[[], bool]) -> None:
        """Check the lease now and every `every_s` from now on; `allowed()` False (a
        read-only session) means never run an engine."""
        self._allowed = allowed
        if self._thread is None and not self._closed.is_set():
            # A daemon thread: a quitting console must not wait on a check in flight.
            self._thread = threading.Thread(target=self._loop, name="console-engine", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                self.check()
            except Exception:  # the metadata DB may blip; look again next time
                log.exception("engine check failed")
            self._closed.wait(self.every_s)

    def check(self) -> Engine | None:
        """One look at the lease: start, keep or stop the embedded engine."""
        with self._lock:
            if self._closed.is_set():
                return None
            state = self.services.engine_state
            engine = self.engine
            if engine is not None:
                holder = state.holder(LEASE)
                lost = holder is not None and holder != engine.id
                if not (engine.handed_over or lost or not self._allowed()):
                    return engine
                self.engine = None
            elif not self._allowed():
                return None
            elif state.holder(LEASE) is None and state.holder(WANTED) is None:
                engine_id = (
                    f"{CONSOLE_ENGINE_PREFIX}{socket.gethostname()}:{os.getpid()}:"
                    f"{uuid.uuid4().hex[:6]}"
                )
                if state.acquire_lease(LEASE, engine_id, self.services.settings.lease_seconds):
                    log.info("starting the embedded engine", extra={"engine": engine_id})
                    self.engine = Engine(
                        self.services,
                        engine_id=engine_id,
                        embedded=True,
                        poll_interval=self.poll_interval,
                    ).start()
                return self.engine
            else:
                return None
        # Outside the lock: runs in flight may take the grace period to finish, and a new
        # engine cannot start meanwhile (the lease is someone else's or the session refuses).
        log.info("stopping the embedded engine", extra={"engine": engine.id})
        engine.stop()
        return None

    def stop(self, grace_s: float | None = None) -> list[int]:
        """Stop following and stop the engine (the console is closing); unfinished run ids."""
        self._closed.set()
        with self._lock:
            engine, self.engine = self.engine, None
        return engine.stop(grace_s) if engine is not None else []
