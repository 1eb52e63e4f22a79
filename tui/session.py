"""The console's session with the engine (`Session`): the services, the acting user and the
workspace in front, the console's only door into the engine. Every call goes through the
services as the session's actor, from thread workers, never on the UI thread.

The services may still be opening when the first screen is drawn (opening the metadata DB
and importing SQLAlchemy takes longer than drawing the frame), so `s` hands out a stand-in
whose attribute access waits, in the worker that touches it, until they are open."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.context import Actor
from engine.errors import SadeemError

T = TypeVar("T")
OPEN_TIMEOUT_S = 300
# opener(progress) -> (services, embedded engine or None)
Opener = Callable[[Callable[[str], None]], tuple[Any, Any]]


class Abandoned(Exception):
    """The worker that waited on a call was cancelled: the console is quitting (or a newer
    worker of the same group replaced it), and nobody wants the answer any more."""


def abandonable(fn: Callable[[], T]) -> T:
    """`fn()` on a daemon thread, waited for by the calling thread worker, which gives up
    (Abandoned) the moment it is cancelled. Textual joins its thread workers when the app's
    loop closes, so a worker blocked on a server that never answers held a quitting console
    for the probe's whole deadline (10 s by default); a daemon thread holds nothing."""
    from textual.worker import NoActiveWorker, get_current_worker

    try:
        worker = get_current_worker()
    except NoActiveWorker:  # not in a worker (a test, a script): nothing cancels it
        return fn()
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def call() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # handed to the worker as is
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=call, name="console-call", daemon=True).start()
    while not done.wait(0.05):
        if worker.is_cancelled:
            raise Abandoned
    ok, value = outcome[0]
    if ok:
        return value
    raise value


class _Opening:
    """Stands in for the services until they are open."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session.wait(), name)


class Session:
    """Who acts (actor), where (workspace), through what (services; `s` waits for them)."""

    def __init__(
        self,
        services: Any,
        actor: Actor,
        workspace: str | None,
        *,
        opener: Opener | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.actor = actor
        self.workspace = workspace
        self.engine: Any = None
        self._services = services
        self._opener = opener
        self._error: str | None = None
        self._ready = threading.Event()
        if services is not None:
            self._ready.set()
        self.data_dir: Path | None = data_dir or (services.settings.data_dir if services else None)

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
    def read_only(self) -> bool:
        """The session changes nothing: the services refuse it, and its keys are gone."""
        return self.actor.read_only

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

    def output_path(self, name: str) -> Path:
        """Where an export or a saved log goes unless the operator types another path: the
        directory the console was started from, as `sadeem sql -o NAME` writes there too."""
        return Path.cwd() / name

    def role(self) -> str | None:
        return self.s.users.role_in(self.actor, self.workspace) if self.workspace else None

    def status_line(self) -> dict[str, Any]:
        status = self.s.engine_state.status()
        return {
            "holder": status.lease_holder,
            "holder_kind": status.lease_holder_kind,
            "alive": status.engines_alive,
            "queue": status.queue_depth,
            "running": status.running,
        }
