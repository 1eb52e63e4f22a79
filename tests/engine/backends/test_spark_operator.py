"""SparkOperatorBackend with the real kubernetes client against the fake API server in
tests/fakes (no Kubernetes API server can run on this machine). What every BatchBackend
does (states, cancel, timeouts, re-attaching by id) is in tests/engine/backends/behaviour/."""

from __future__ import annotations

import threading
import time

import pytest

from engine.backends.base import SparkAppSpec
from engine.backends.spark_operator import SparkOperatorBackend
from engine.errors import BackendError, Conflict
from tests.fakes.k8s_api import FakeKubernetes
from tests.schemas.loader import validate

NS = "lakehouse-jobs"
SPEC = SparkAppSpec(
    name="ingest-1",
    main_application_file="s3a://raw/jobs/ingest.py",
    arguments=["--ds", "2026-11-24"],
)


@pytest.fixture
def fake():
    server = FakeKubernetes(forbidden=("secret-ns",)).start()
    yield server
    server.stop()


@pytest.fixture
def backend(fake):
    return SparkOperatorBackend(NS, api_server=fake.url, token="test-token")


def test_submit_status_mapping_and_duplicates(backend, fake):
    submitted = backend.submit(SPEC)
    assert (submitted.external_id, submitted.state) == ("ingest-1", "queued")
    stored = fake.get(NS, "ingest-1")
    assert stored["metadata"]["uid"] and stored["metadata"]["resourceVersion"]
    validate(
        {k: v for k, v in stored.items() if k != "status"}
        | {
            "metadata": {
                "name": stored["metadata"]["name"],
                "namespace": NS,
                "labels": stored["metadata"]["labels"],
            }
        },
        "sparkapplication_v1beta2",
    )
    with pytest.raises(Conflict):
        backend.submit(SPEC)
    expected = {
        "SUBMITTED": "running",
        "RUNNING": "running",
        "PENDING_RERUN": "queued",
        "UNKNOWN": "running",
        "SUCCEEDING": "running",
        "FAILING": "running",
        "INVALIDATING": "running",
        "COMPLETED": "succeeded",
        "FAILED": "failed",
        "SUBMISSION_FAILED": "failed",
    }
    for state, mapped in expected.items():
        fake.set_state(NS, "ingest-1", state, ui="10.0.0.5:4040", message="boom")
        status = backend.status("ingest-1")
        assert (status.state, status.backend_state) == (mapped, state)
    assert status.ui_link == "http://10.0.0.5:4040" and status.message == "boom"


def test_wait_follows_a_watch_and_logs_stream(backend, fake):
    backend.submit(SPEC)

    def operator():
        time.sleep(0.3)
        fake.set_state(NS, "ingest-1", "SUBMITTED")
        fake.append_log(NS, "ingest-1-driver", ["starting"])
        fake.set_state(NS, "ingest-1", "RUNNING", driver_pod="ingest-1-driver")
        time.sleep(0.3)
        fake.append_log(NS, "ingest-1-driver", ["wrote 11216 rows", "done"])
        fake.set_state(NS, "ingest-1", "COMPLETED", driver_pod="ingest-1-driver")

    threading.Thread(target=operator, daemon=True).start()
    final = backend.wait("ingest-1", timeout_s=20)
    assert final.state == "succeeded"
    assert list(backend.logs("ingest-1")) == ["starting", "wrote 11216 rows", "done"]


def test_auth_forbidden_refused_and_health(fake):
    ok = SparkOperatorBackend(NS, api_server=fake.url, token="test-token").test()
    assert ok.ok and ok.version == "Kubernetes v1.33.0-fake"
    bad = SparkOperatorBackend(NS, api_server=fake.url, token="wrong-token-42")
    assert bad.test().error_kind == "auth"
    with pytest.raises(BackendError) as info:
        bad.submit(SPEC)
    assert info.value.kind == "auth" and "wrong-token-42" not in str(info.value)
    forbidden = SparkOperatorBackend("secret-ns", api_server=fake.url, token="test-token")
    assert forbidden.test().error_kind == "forbidden"
    refused = SparkOperatorBackend(
        NS, api_server="http://127.0.0.1:9", token="t", request_timeout=2
    ).test()
    assert refused.error_kind == "refused"
