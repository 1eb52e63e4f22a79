"""The Trino backend against the protocol-faithful fake coordinator in tests/fakes (no real
Trino can run on this machine)."""

from __future__ import annotations

import threading

import pytest

from engine.backends.base import QueryContext
from engine.backends.trino import TrinoBackend
from engine.errors import BackendError, QueryCancelled, QueryError, ValidationError
from tests.fakes import trino_server
from tests.fakes.trino_server import FakeTrino

CTX = QueryContext(user="ana", catalog="iceberg", schema="sales_gold", client_tags=("batch",))


@pytest.fixture
def fake():
    server = FakeTrino().start()
    yield server
    server.stop()


@pytest.fixture
def backend(fake):
    return TrinoBackend("127.0.0.1", fake.port, ui_base_url="https://trino.example")


def test_headers_paging_batches_and_links(backend, fake):
    progress = []
    q = backend.execute("SELECT * FROM range(25000)", CTX, on_progress=progress.append)
    assert q.query_id in fake.queries  # known as soon as the server accepted it
    assert q.ui_link == f"https://trino.example/ui/query.html?{q.query_id}"
    sent = {k.lower(): v for k, v in fake.query(q.query_id).headers.items()}
    assert sent["x-trino-user"] == "ana"
    assert sent["x-trino-source"] == "sadeem"
    assert sent["x-trino-client-tags"] == "batch"
    assert (sent["x-trino-catalog"], sent["x-trino-schema"]) == ("iceberg", "sales_gold")
    sizes = [b.num_rows for b in q.batches()]
    assert sum(sizes) == 25000 and max(sizes) <= 10_000 and len(sizes) >= 3
    assert q.progress().state == "FINISHED"
    states = [p.state for p in progress]
    assert states[0] == "QUEUED" and "RUNNING" in states and states[-1] == "FINISHED"
    assert progress[-1].rows == 25000


def test_row_cap_then_fetch_more(backend):
    q = backend.execute("SELECT * FROM range(3500)", CTX)
    first = q.fetch(1000)
    assert first.num_rows == 1000 and first.column("value")[0].as_py() == 0
    rest = q.fetch()
    assert rest.num_rows == 2500 and rest.column("value")[0].as_py() == 1000
    assert rest.schema.field("value").type == first.schema.field("value").type


def test_cancel_reaches_the_server(backend, fake):
    q = backend.execute("SELECT sleep(30)", CTX)
    threading.Timer(0.3, q.cancel).start()
    with pytest.raises(QueryCancelled):
        q.fetch()
    assert q.query_id in fake.deletes
    assert backend.query_state(q.query_id) == "FAILED"


def test_errors_with_position_and_runtime_failures(backend):
    with pytest.raises(QueryError) as info:
        backend.execute("SELECT 1,\n  2 +* 3", CTX).fetch()
    assert (info.value.line, info.value.error_name) == (2, "SYNTAX_ERROR")
    assert info.value.column == 5
    with pytest.raises(QueryError, match="disk on fire"):
        backend.execute("SELECT fail('disk on fire')", CTX).fetch()


def test_query_state_for_re_adoption(backend, fake):
    q = backend.execute("SELECT sleep(0.2)", CTX)
    assert backend.query_state(q.query_id) in ("QUEUED", "RUNNING")
    assert q.fetch().num_rows == 1
    assert backend.query_state(q.query_id) == "FINISHED"
    assert backend.query_state("no_such_query") is None


def test_health_and_connection_failures(backend, tmp_path):
    ok = backend.test()
    assert ok.ok and ok.version == "Trino 476-fake"
    refused = TrinoBackend("127.0.0.1", 9, request_timeout=2).test()
    assert not refused.ok and refused.error_kind == "refused"
    dns = TrinoBackend("no-such-host.invalid", 8080, request_timeout=2).test()
    assert dns.error_kind == "dns"
    with pytest.raises(ValidationError, match="https"):
        TrinoBackend("127.0.0.1", 8080, password="pw-over-http")


def test_wrong_password_is_auth_and_never_shown(tmp_path):
    server = FakeTrino(password="right-password-1", tls_dir=tmp_path).start()
    try:
        good = TrinoBackend(
            "127.0.0.1",
            server.port,
            http_scheme="https",
            user_default="admin",
            password="right-password-1",
            verify_tls=False,
        )
        assert good.execute("SELECT 1", CTX).fetch().num_rows == 1
        bad = TrinoBackend(
            "127.0.0.1",
            server.port,
            http_scheme="https",
            user_default="admin",
            password="wrong-password-2",
            verify_tls=False,
        )
        with pytest.raises(BackendError) as info:
            bad.execute("SELECT 1", CTX)
        assert info.value.kind == "auth"
        assert "wrong-password-2" not in str(info.value) + repr(bad)
        assert bad.test().error_kind == "auth"
    finally:
        server.stop()


def test_fake_pages_like_trino():
    assert trino_server.PAGE_ROWS == 1000  # the paging the tests above rely on
