"""The reconciler re-adopts work on any backend that says it can be found again
(Reattachable), and marks lost the work of any that cannot: it never asks which backend
it is. Toy backends stand in for a SQL engine Sadeem does not know."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from engine.backends.base import Reattachable
from engine.runner.reconcile import Reconciler


class ToyRemoteEngine:
    """Runs its queries on a server: asked by id, they are found again."""

    def __init__(self, state: str | None) -> None:
        self.state = state
        self.asked: list[tuple[str, str | None]] = []
        self.cancelled: list[str] = []

    def external_state(self, external_id: str, user: str | None = None) -> str | None:
        self.asked.append((external_id, user))
        return self.state

    def cancel_external(self, external_id: str, user: str | None = None) -> None:
        self.cancelled.append(external_id)
        self.state = "cancelled"


class ToyInProcessEngine:
    """Its queries live and die with the engine process."""


@dataclass
class Queue:
    plan_of: Any
    finished: list[tuple[str, str | None]] = field(default_factory=list)

    def plan(self, run_id: int) -> Any:
        return self.plan_of

    def append_log(self, run_id: int, text: str) -> None:
        pass

    def finish(self, run_id: int, state: str, error: str | None = None, owner: str = "") -> None:
        self.finished.append((state, error))

    def state_of(self, run_id: int) -> str:
        return "running"


def _services(backend: Any, state: str = "running") -> Any:
    ws = SimpleNamespace(name="w", sql_connection="remote")
    plan = SimpleNamespace(
        workspace=ws, connection=None, external_id="q-1", state=state, job_type="sql"
    )
    return SimpleNamespace(
        queue=Queue(plan),
        sql=SimpleNamespace(version_author=lambda run_id: "ana"),
        lakehouse=SimpleNamespace(sql=lambda actor, ws, name: (name, backend)),
    )


def test_work_on_a_reattachable_backend_is_settled_with_its_real_outcome() -> None:
    backend = ToyRemoteEngine("succeeded")
    assert isinstance(backend, Reattachable)
    services = _services(backend)
    Reconciler(services, "engine-2", 30).settle(1)
    assert services.queue.finished == [("succeeded", None)]
    assert backend.asked == [("q-1", "ana")]  # as the user the query runs as


def test_a_cancel_asked_while_the_engine_was_down_reaches_the_backend() -> None:
    backend = ToyRemoteEngine("running")
    services = _services(backend, state="cancelling")
    reconciler = Reconciler(services, "engine-2", 30)
    reconciler.settle(1)
    assert backend.cancelled == ["q-1"]


def test_work_the_backend_no_longer_knows_is_lost() -> None:
    services = _services(ToyRemoteEngine(None))
    Reconciler(services, "engine-2", 30).settle(1)
    assert services.queue.finished == [("failed", "lost: the backend no longer knows this work")]


def test_work_inside_a_backend_that_cannot_reattach_is_lost() -> None:
    backend = ToyInProcessEngine()
    assert not isinstance(backend, Reattachable)
    services = _services(backend)
    Reconciler(services, "engine-2", 30).settle(1)
    [(state, error)] = services.queue.finished
    assert state == "failed" and error and error.startswith("lost: ")
