"""The BatchBackend promises, run against every implementation (real spark-submit in local
mode, and the Spark Operator on the Kubernetes fake with the test playing the operator):
submit returns the external id at once, state and logs follow the application, a failure
says why, cancel stops the work, and another engine process re-attaches by the id alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from engine.backends.base import BatchStatus
from engine.errors import ValidationError
from tests.engine.backends.behaviour.conftest import BatchImpl, lacking

pytestmark = pytest.mark.spark
TIMEOUT_S = 180  # a JVM start on a busy two-core machine; the fake answers in a second


@dataclass(frozen=True)
class Finished:
    count: BatchStatus  # as submit() returned them
    fail: BatchStatus


@pytest.fixture(scope="module")
def finished(batch: BatchImpl) -> Finished:
    """One succeeding and one failing application, run side by side once per backend."""
    submitted = {}
    for kind in ("count", "fail"):
        status = batch.backend.submit(batch.spec(kind))
        batch.play(status.external_id, kind)
        submitted[kind] = status
    for status in submitted.values():
        batch.backend.wait(status.external_id, TIMEOUT_S)
    return Finished(**submitted)


@pytest.fixture
def sleeping(batch: BatchImpl) -> Iterator[str]:
    """An application that prints READY and then runs until cancelled; its external id."""
    status = batch.backend.submit(batch.spec("sleep"))
    batch.play(status.external_id, "sleep")
    yield status.external_id
    batch.backend.cancel(status.external_id)


def wait_for_line(batch: BatchImpl, external_id: str, wanted: str) -> None:
    for line in batch.backend.logs(external_id):  # follows the live log
        if line.strip() == wanted:
            return
    pytest.fail(f"the log of {external_id} ended without {wanted!r}")


def test_submit_returns_the_external_id_at_once(batch: BatchImpl, finished: Finished) -> None:
    """The runner saves the id the moment the backend accepts the work."""
    status = finished.count
    assert status.external_id and status.state in ("queued", "running")
    again = batch.another().status(status.external_id)
    assert again.external_id == status.external_id and again.state != "unknown"


def test_a_finished_application_succeeded_and_its_log_is_complete(
    batch: BatchImpl, finished: Finished
) -> None:
    status = batch.backend.status(finished.count.external_id)
    assert status.state == "succeeded" and status.backend_state
    lines = list(batch.backend.logs(finished.count.external_id))
    assert [line for line in lines if line.startswith("MARKER")] == ["MARKER 7000"]


def test_a_failure_is_failed_with_a_message(batch: BatchImpl, finished: Finished) -> None:
    status = batch.backend.status(finished.fail.external_id)
    assert status.state == "failed" and status.message
    assert any("disk on fire" in line for line in batch.backend.logs(status.external_id))


def test_a_failure_message_names_its_cause(
    request: pytest.FixtureRequest, batch: BatchImpl, finished: Finished
) -> None:
    lacking(request, batch, "failure_cause")
    status = batch.backend.status(finished.fail.external_id)
    assert "disk on fire" in (status.message or "")


def test_another_engine_re_attaches_by_external_id(batch: BatchImpl, finished: Finished) -> None:
    """After a crash, a new backend knows the outcome and the log from the id alone."""
    other = batch.another()
    assert other.status(finished.count.external_id).state == "succeeded"
    assert other.wait(finished.fail.external_id, 5).state == "failed"
    assert "MARKER 7000" in [line.strip() for line in other.logs(finished.count.external_id)]


def test_cancel_after_the_end_keeps_the_outcome(batch: BatchImpl, finished: Finished) -> None:
    batch.backend.cancel(finished.count.external_id)
    assert batch.backend.status(finished.count.external_id).state == "succeeded"


def test_cancel_stops_a_running_application(batch: BatchImpl, sleeping: str) -> None:
    wait_for_line(batch, sleeping, "READY")
    started = time.monotonic()
    assert batch.backend.wait(sleeping, 1).state == "running"  # wait() honours its timeout
    assert time.monotonic() - started < 15
    assert batch.working(sleeping) and not batch.stopped(sleeping)
    canceller = batch.another()  # any engine process cancels, by the id alone
    canceller.cancel(sleeping)
    assert batch.stopped(sleeping)
    assert canceller.wait(sleeping, 10).state == "cancelled"
    canceller.cancel(sleeping)  # a second cancel is harmless


def test_the_canceller_sees_cancelled(batch: BatchImpl) -> None:
    status = batch.backend.submit(batch.spec("sleep"))
    batch.backend.cancel(status.external_id)
    assert batch.backend.status(status.external_id).state == "cancelled"


def test_another_engine_sees_cancelled(request: pytest.FixtureRequest, batch: BatchImpl) -> None:
    lacking(request, batch, "cancelled_seen_by_another_engine")
    status = batch.backend.submit(batch.spec("sleep"))
    batch.backend.cancel(status.external_id)
    assert batch.another().status(status.external_id).state == "cancelled"


@pytest.mark.parametrize("which", ["malformed", "well_formed"])
def test_an_unknown_external_id_is_unknown(batch: BatchImpl, which: str) -> None:
    external_id = "no such app!" if which == "malformed" else batch.unknown_id
    status = batch.backend.status(external_id)
    assert status.state == "unknown" and "lost" in (status.message or "")
    assert list(batch.backend.logs(external_id)) == []
    batch.backend.cancel(external_id)  # nothing to stop, and no error


def test_a_name_the_cluster_would_refuse_is_refused_before_submit(batch: BatchImpl) -> None:
    """Local Spark must not accept what the Spark Operator refuses: a job that works on a
    laptop works in production."""
    spec = batch.spec("count")
    for bad in ("Bad_Name", "x" * 64, "-leading-dash"):
        with pytest.raises(ValidationError):
            batch.backend.submit(type(spec)(**{**spec.__dict__, "name": bad}))


def test_health(batch: BatchImpl) -> None:
    result = batch.backend.test()
    assert result.ok and result.version and result.latency_ms is not None
