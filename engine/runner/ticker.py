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
    chore; it sleeps, without polling, while there is none."""

    def __init__(self, every_s: float = 0.05, name: str = "run-ticker") -> None:
        self.every_s = every_s
        self._name = name
        self._chores: dict[object, Chore] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, key: object, chore: Chore) -> None:
        """Start calling `chore` (replacing one added under the same key)."""
        with self._cond:
            self._chores[key] = chore
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def discard(self, key: object) -> None:
        with self._cond:
            self._chores.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._cond:
            return key in self._chores

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._chores:
                    self._cond.wait()
                chores = list(self._chores.items())
            now = time.monotonic()
            for key, chore in chores:
                try:
                    keep = chore(now)
                except Exception as exc:  # one chore's failure is said, never the thread's end
                    log.warning("run chore failed: %s", exc.__class__.__name__)
                    keep = True
                if not keep:
                    with self._cond:
                        if self._chores.get(key) is chore:
                            del self._chores[key]
            time.sleep(self.every_s)


# The process's one ticker: runs of every dispatcher share it.
TICKER = Ticker()
