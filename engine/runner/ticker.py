"""One thread per process for every run's periodic chores: writing log lines that waited
long enough, a running statement's progress lines and its stop checks.

A thread per run (a `threading.Timer` per log, a watcher per statement) cost about a third
of the engine's CPU at 100 runs a second: each start hands the GIL over and back, and most
statements end before their thread's first look. A chore here costs a dict insert."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("sadeem.runner")

# A chore is called with the monotonic time; it returns False once it has nothing left
# to do (it is then dropped, and may be added again later).
Chore = Callable[[float], bool]


class Ticker:
    """Calls each chore every `every_s` seconds on one daemon thread, started on the first
    chore; it sleeps, without polling, while there is none.

    A chore that blocks (a log write while the metadata database is down, a cancel's DELETE
    to a coordinator that does not answer) must not stop every other run's chores: a guard
    thread sees a call that has lasted `stuck_s`, leaves it to the thread it blocks and
    starts a new ticking thread. That chore is not called again until its call returns."""

    def __init__(self, every_s: float = 0.05, name: str = "run-ticker", stuck_s: float = 0.2):
        self.every_s = every_s
        self.stuck_s = stuck_s
        self._name = name
        self._chores: dict[object, Chore] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None  # the one that ticks now
        self._guard: threading.Thread | None = None
        self._calling: tuple[object, float] | None = None  # the ticking thread's call, since
        self._busy: set[object] = set()  # keys whose call was left to a replaced thread

    def add(self, key: object, chore: Chore) -> None:
        """Start calling `chore` (replacing one added under the same key)."""
        with self._cond:
            self._chores[key] = chore
            if self._thread is None or not self._thread.is_alive():
                self._start_ticking()
            if self._guard is None or not self._guard.is_alive():
                self._guard = threading.Thread(
                    target=self._watch, name=f"{self._name}-guard", daemon=True
                )
                self._guard.start()
            self._cond.notify_all()

    def discard(self, key: object) -> None:
        with self._cond:
            self._chores.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._cond:
            return key in self._chores

    def _start_ticking(self) -> None:  # under self._cond
        self._calling = None
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._chores and self._thread is me:
                    self._cond.wait()
                if self._thread is not me:
                    return
                chores = [(k, c) for k, c in self._chores.items() if k not in self._busy]
            now = time.monotonic()
            for key, chore in chores:
                with self._cond:
                    if self._thread is not me:
                        return
                    if self._chores.get(key) is not chore:
                        continue  # discarded (or replaced) since the list was taken
                    self._calling = (key, time.monotonic())
                try:
                    keep = chore(now)
                except Exception as exc:  # one chore's failure is said, never the thread's end
                    log.warning("run chore failed: %s", exc.__class__.__name__)
                    keep = True
                with self._cond:
                    if not keep and self._chores.get(key) is chore:
                        del self._chores[key]
                    if self._thread is not me:  # the guard left this call to this thread
                        self._busy.discard(key)
                        return
                    self._calling = None
            time.sleep(self.every_s)

    def _watch(self) -> None:
        """The guard: a call that lasts `stuck_s` gets the ticking handed to a new thread."""
        while True:
            with self._cond:
                while not self._chores:
                    self._cond.wait()
                calling = self._calling
                if calling is not None and time.monotonic() - calling[1] >= self.stuck_s:
                    key = calling[0]
                    log.info("run chore blocked; the other chores go on without it")
                    self._busy.add(key)
                    self._start_ticking()
            time.sleep(self.stuck_s / 2)


# The process's one ticker: runs of every dispatcher share it.
TICKER = Ticker()
