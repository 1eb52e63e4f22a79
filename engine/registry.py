"""A registry of kinds declared by the modules of a package: each module registers its kind
when imported; the first lookup imports them all, so a new kind is picked up by being
there. Backend kinds (engine/backends/kinds.py) and job kinds (engine/job_kinds) are two.

Two locks, never one: `register` runs inside a module's import, which holds that module's
import lock. A loader that held the registry's lock while importing waited for the module
while the module's importer waited for the registry: `engine serve` froze for good when the
console's first health check imported a backend while its first SQL check loaded them all."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


K = TypeVar("K", bound=Named)


class Registry(Generic[K]):
    def __init__(self, what: str, modules: Callable[[], list[str]]) -> None:
        self.what = what  # "connection kind": says which in an error
        self.modules = modules  # the modules to import on the first lookup
        self._kinds: dict[str, K] = {}
        self._kinds_lock = threading.Lock()  # the dict; held for a dict update only
        self._load_lock = threading.Lock()  # one loader at a time; never taken by register
        self._loader: int | None = None  # the thread importing the modules now
        self._loaded = False

    def register(self, kind: K) -> K:
        """Add a kind (its module calls this at import). Names are unique."""
        with self._kinds_lock:
            existing = self._kinds.get(kind.name)
            if existing is not None and existing is not kind:
                raise ValueError(f"{self.what} {kind.name!r} is already registered")
            self._kinds[kind.name] = kind
        return kind

    def unregister(self, name: str) -> None:
        """Remove a kind (tests that register a toy kind clean up with this)."""
        with self._kinds_lock:
            self._kinds.pop(name, None)

    def forget_loaded(self) -> None:
        """Load the modules again on the next lookup (a test's module list)."""
        self._loaded = False

    def _load(self) -> dict[str, K]:
        if not self._loaded:
            if self._loader == threading.get_ident():
                # A module looks a kind up while this thread imports it: the kinds so far
                # (waiting for the loader would be waiting for itself, for good).
                return self._kinds
            with self._load_lock:
                if not self._loaded:
                    self._loader = threading.get_ident()
                    try:
                        for module in self.modules():
                            importlib.import_module(module)
                    finally:
                        self._loader = None
                    self._loaded = True
        return self._kinds

    def all(self) -> dict[str, K]:
        """Every registered kind by name, in registration order."""
        loaded = self._load()
        with self._kinds_lock:
            return dict(loaded)

    def find(self, name: str) -> K | None:
        return self._load().get(name)
