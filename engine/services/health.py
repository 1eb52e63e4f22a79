"""Connection tests and the health summary: reachability, auth, version, latency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, text

from engine.backends import factory
from engine.backends.base import HealthResult
from engine.backends.kinds import BuildInputs
from engine.context import Actor
from engine.errors import BackendError, SadeemError
from engine.models import Connection, Workspace, utcnow
from engine.services.base import Service, ServiceDeps, authorize
from engine.services.connections import ConnectionService
from engine.services.lakehouse import Lakehouse
from engine.settings import mask_url
from engine.views import ConnectionHealth

T = TypeVar("T")


def _health(name: str, conn_type: str, result: HealthResult) -> ConnectionHealth:
    return ConnectionHealth(
        name,
        conn_type,
        result.ok,
        round(result.latency_ms, 1) if result.latency_ms is not None else None,
        result.version,
        mask_url(result.detail),  # a backend's message may quote a URL with userinfo
        result.error_kind,
        utcnow(),
    )


def probe(conn_type: str, config: dict[str, Any], data_dir: Path) -> HealthResult:
    """Test one resolved config within its deadline (`timeout_s`). Every failure becomes a
    HealthResult, never an exception; a test still blocked at the deadline is abandoned
    to a daemon thread, so neither a command nor a quitting console waits on it."""
    timeout_s = factory.timeout_of(config)
    outcome: list[HealthResult] = []

    def work() -> None:
        outcome.append(_probe(conn_type, config, data_dir))

    worker = threading.Thread(target=work, name=f"probe-{conn_type}", daemon=True)
    worker.start()
    # The clients carry the same deadline; the slack lets their own timeout report first.
    worker.join(timeout_s + PROBE_SLACK_S)
    if not outcome:
        return HealthResult(False, detail=f"timed out after {timeout_s:g} s", error_kind="timeout")
    result = outcome[0]
    if result.error_kind == "timeout" and "timed out after" not in result.detail:
        detail = f"timed out after {timeout_s:g} s ({result.detail})"
        return HealthResult(False, result.latency_ms, result.version, detail, "timeout")
    return result


# How long past its deadline a probe may run before it is abandoned.
PROBE_SLACK_S = 1.0


def _probe(conn_type: str, config: dict[str, Any], data_dir: Path) -> HealthResult:
    """Build, test and close one backend of the connection's kind (its own probe)."""
    try:
        kind = factory.kind_with_role(conn_type, None)
        return kind.probe(config, BuildInputs(data_dir))
    except BackendError as exc:
        return HealthResult(False, detail=str(exc), error_kind=exc.kind)
    except SadeemError as exc:
        return HealthResult(False, detail=str(exc), error_kind="error")


class HealthService(Service):
    def __init__(
        self, deps: ServiceDeps, connections: ConnectionService, lakehouse: Lakehouse
    ) -> None:
        super().__init__(deps)
        self.connections = connections
        self.lakehouse = lakehouse

    def test(self, actor: Actor, name: str) -> ConnectionHealth:
        """Test one connection the actor can see."""
        with self.unit() as s:
            conn = s.scalar(select(Connection).where(Connection.name == name))
            ws = s.get(Workspace, conn.workspace_id) if conn and conn.workspace_id else None
            if conn is not None and ws is not None:
                authorize(s, actor, "connection.test", ws)
        view = self.connections.get(actor, name)  # NotFound for connections out of sight
        try:
            resolved = self.connections.resolve(actor, name)
        except SadeemError as exc:  # an unresolvable secret is a failed test, not a crash
            return _health(
                view.name, view.type, HealthResult(False, detail=str(exc), error_kind="secret")
            )
        return _health(
            name, resolved.type, probe(resolved.type, resolved.config, self.deps.settings.data_dir)
        )

    def embedded(self) -> list[ConnectionHealth]:
        """The metadata database and the embedded catalog and SQL engine."""
        out = []
        start = time.perf_counter()
        try:
            with self.deps.db.engine.connect() as c:
                c.execute(text("SELECT 1"))
            result = HealthResult(
                True,
                (time.perf_counter() - start) * 1000,
                f"{self.deps.db.dialect}",
                "metadata database",
            )
        except Exception as exc:  # the DB driver's error class varies by dialect
            result = HealthResult(False, detail=exc.__class__.__name__, error_kind="error")
        out.append(_health("metadata", self.deps.db.dialect, result))
        try:
            out.append(
                _health(
                    "embedded_catalog",
                    factory.EMBEDDED_CATALOG,
                    self.lakehouse.embedded_catalog().test(),
                )
            )
        except SadeemError as exc:  # CatalogUnavailable: catalog.db missing or replaced
            kind = exc.kind if isinstance(exc, BackendError) else "error"
            out.append(
                _health(
                    "embedded_catalog",
                    factory.EMBEDDED_CATALOG,
                    HealthResult(False, detail=str(exc), error_kind=kind),
                )
            )
        sql = factory.EMBEDDED_SQL
        out.append(_health("embedded_sql", sql, probe(sql, {}, self.deps.settings.data_dir)))
        return out

    def check_all(self, actor: Actor) -> list[ConnectionHealth]:
        """Every connection the actor can see, plus the embedded defaults."""
        names = [conn.name for conn in self.connections.list(actor)]
        if not names:
            return self.embedded()
        # In parallel: one unreachable host must not hold up the others' results.
        tested = _in_parallel(lambda name: self.test(actor, name), names, max_workers=8)
        return self.embedded() + tested


def _in_parallel(fn: Callable[[str], T], items: list[str], max_workers: int) -> list[T]:
    """`fn` over `items`, at most `max_workers` at once, results in order. Daemon threads,
    not a ThreadPoolExecutor: its threads are joined when the interpreter exits, so a
    console quitting during a check waited for the slowest probe's deadline."""
    results: dict[int, T] = {}
    errors: list[BaseException] = []
    slots = threading.Semaphore(max_workers)

    def one(i: int, item: str) -> None:
        try:
            results[i] = fn(item)
        except BaseException as exc:  # raised again below, in the caller's thread
            errors.append(exc)
        finally:
            slots.release()

    threads = []
    for i, item in enumerate(items):
        slots.acquire()
        thread = threading.Thread(target=one, args=(i, item), name="health-check", daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[i] for i in range(len(items))]
