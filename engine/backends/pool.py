"""The backend pool: the one owner of backend lifetimes.

A backend is built on first use, shared by every caller of the same slot (a workspace's SQL
engine, a connection's catalog), rebuilt when what it was built from changes (the
connection was edited: its fingerprint differs) and closed when it is replaced or the pool
closes. Callers never close what the pool gives them; `close()` on a backend means close.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from engine.backends.base import Closeable

T = TypeVar("T")


class BackendPool:
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[str, Any]] = {}
        # One lock for all: a build is rare (a DuckDB ~0.1 s) and two callers of one slot
        # must get the same backend, not two of which one leaks. Reentrant: a build may
        # take another slot's backend (a workspace's DuckDB reads its pooled catalog).
        self._lock = threading.RLock()

    def get(self, slot: Hashable, fingerprint: str, build: Callable[[], T]) -> T:
        """The backend of `slot` built from `fingerprint`; built now if there is none or
        the slot's backend came from another fingerprint (which is then closed)."""
        stale: Any = None
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None and entry[0] == fingerprint:
                backend: T = entry[1]
                return backend
            backend = build()
            self._entries[slot] = (fingerprint, backend)
            if entry is not None:
                stale = entry[1]
        if stale is not None:
            _close(stale)
        return backend

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Close every backend (the engine is stopping); a later get() builds anew."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for _fingerprint, backend in entries:
            _close(backend)


def _close(backend: Any) -> None:
    if isinstance(backend, Closeable):
        backend.close()
