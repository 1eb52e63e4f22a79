"""The console's only door into the engine: every call goes through the services as the
console's actor. Panes call these from thread workers, never on the UI thread.

The services may still be opening when the first screen is drawn (opening the metadata DB
and importing SQLAlchemy takes longer than drawing the frame), so `s` hands out a stand-in
whose attribute access waits, in the worker that touches it, until they are open."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.context import Actor
from engine.errors import SadeemError

OPEN_TIMEOUT_S = 300
# opener(progress) -> (services, embedded engine or None)
Opener = Callable[[Callable[[str], None]], tuple[Any, Any]]


class _Opening:
    """Stands in for the services until they are open."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console.wait(), name)


class Console:
    def __init__(
        self,
        services: Any,
        actor: Actor,
        workspace: str | None,
        read_only: bool = False,
        *,
        opener: Opener | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.actor = actor
        self.workspace = workspace
        self.read_only = read_only
        self.engine: Any = None
        self._services = services
        self._opener = opener
        self._error: str | None = None
        self._ready = threading.Event()
        if services is not None:
            self._ready.set()
        self.data_dir = data_dir or (services.settings.data_dir if services else None)

    def open(self, progress: Callable[[str], None] = lambda _m: None) -> None:
        """Open the services (in a worker); errors surface on the next use of `s`."""
        if self._ready.is_set() or self._opener is None:
            return
        try:
            self._services, self.engine = self._opener(progress)
        except SadeemError as exc:
            self._error = str(exc)
        except Exception as exc:  # a driver's error: say what it was, never a traceback
            self._error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._ready.set()

    @property
    def opened(self) -> bool:
        return self._ready.is_set() and self._error is None

    def wait(self) -> Any:
        if not self._ready.wait(OPEN_TIMEOUT_S):
            raise SadeemError(f"the engine did not open in {OPEN_TIMEOUT_S} s")
        if self._error is not None:
            raise SadeemError(f"the engine could not open: {self._error}")
        return self._services

    @property
    def s(self) -> Any:
        return self._services if self._ready.is_set() and self._error is None else _Opening(self)

    def role(self) -> str | None:
        return self.s.users.role_in(self.actor, self.workspace) if self.workspace else None

    def can_change(self) -> bool:
        return not self.read_only and self.role() not in (None, "viewer")

    def status_line(self) -> dict[str, Any]:
        status = self.s.engine_state.status()
        return {
            "holder": status.lease_holder,
            "queue": status.queue_depth,
            "running": status.running,
        }
