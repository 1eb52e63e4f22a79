"""Heavy client libraries, each imported once and whole, under one lock.

Several of them import their own modules in a circle (sqlglot; requests, under trino;
kubernetes). Two threads importing one for the first time at once (the runner's executors,
the console's workers) can then see a half-initialised module and fail with an
ImportError: the crash test hit it with six Trino runs starting together. Call
`import_once` before the function-level import of such a library.
"""

from __future__ import annotations

import importlib
import threading

_LOCK = threading.Lock()
_done: set[str] = set()


def import_once(*modules: str) -> None:
    """Import `modules` (dotted names), one thread at a time, the first time only."""
    if _done.issuperset(modules):
        return
    with _LOCK:
        for name in modules:
            if name not in _done:
                importlib.import_module(name)
                _done.add(name)
