"""The Trino backend against the protocol-faithful fake coordinator in tests/fakes (no real
Trino can run on this machine): headers, paging, links, auth. What every SqlBackend does
(row caps, cancel, errors with positions, state by id) is in tests/engine/backends/behaviour/."""

from __future__ import annotations

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


def tls_trino(tmp_path, **kwargs) -> FakeTrino:
    """A fake with password auth for the principal `svc` (Trino takes passwords over TLS)."""
    return FakeTrino(password="svc-password-3", user="svc", tls_dir=tmp_path, **kwargs).start()


def as_principal(server: FakeTrino) -> TrinoBackend:
    return TrinoBackend(
        "127.0.0.1",
        server.port,
        http_scheme="https",
        user_default="svc",
        password="svc-password-3",
        verify_tls=False,
    )


def test_the_connection_authenticates_and_the_sadeem_user_is_the_session_user(tmp_path):
    """With a password, every request authenticates as the connection's user while the
    query runs as the acting user: the principal impersonates, where Trino allows it."""
    server = tls_trino(tmp_path, may_impersonate={"ana"})
    try:
        q = as_principal(server).execute("SELECT * FROM range(2500)", CTX)
        assert q.fetch().num_rows == 2500
        ran = server.query(q.query_id)
        assert (ran.principal, ran.user, ran.state) == ("svc", "ana", "FINISHED")
        pages = [r for r in server.requests if q.query_id in r.path or r.method == "POST"]
        assert len(pages) >= 3  # the POST and the pages after it
        assert {(r.principal, r.headers["x-trino-user"]) for r in pages} == {("svc", "ana")}
        assert {r.headers["x-trino-client-tags"] for r in pages} == {"batch"}
    finally:
        server.stop()


def test_refused_impersonation_is_one_clear_line(tmp_path):
    """Trino refuses when it dispatches the query: PERMISSION_DENIED naming both
    users. Sadeem says so in one line, with what to change."""
    server = tls_trino(tmp_path, may_impersonate={"ana"})
    try:
        q = as_principal(server).execute("SELECT 1", QueryContext(user="bob"))
        with pytest.raises(QueryError) as info:
            q.fetch()
        message = str(info.value)
        assert "\n" not in message
        assert "User svc cannot impersonate user bob" in message
        assert "impersonation rules" in message
        assert "svc-password-3" not in message
        assert server.query(q.query_id).state == "FAILED"
    finally:
        server.stop()


def test_a_name_that_is_not_header_text_never_reaches_trino(backend, fake):
    """CR/LF in a user name would add headers of its own: refused before any request."""
    for ctx, field in [
        (QueryContext(user="ana\r\nX-Trino-User: admin"), "user"),
        (QueryContext(user="ana\n"), "user"),
        (QueryContext(user="ana", client_tags=("batch,admin",)), "client_tags"),
        (QueryContext(user="ana", client_tags=("x\r\ny",)), "client_tags"),
    ]:
        with pytest.raises(ValidationError) as info:
            backend.execute("SELECT 1", ctx)
        assert info.value.field == field and "\n" not in str(info.value)
    assert fake.requests == []
    with pytest.raises(ValidationError) as info:
        TrinoBackend("127.0.0.1", fake.port, user_default="svc\r\nX: y")
    assert info.value.field == "config.user" and "\n" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        TrinoBackend("127.0.0.1", fake.port, http_scheme="https", password="pw")
    assert info.value.field == "config.user"  # whose password it is must be said


def test_a_cancel_whose_delete_failed_leaves_the_reader_on_and_can_be_sent_again(
    backend, fake, monkeypatch
):
    """README: cancel stops the work on the backend. A DELETE that did not reach the
    coordinator stopped nothing there: the reader must not stop (the run would be recorded
    cancelled while Trino still runs it), and the run's watch sends it again."""
    import requests

    q = backend.execute("SELECT sleep(30)", CTX, None)
    request = q._request  # the client's request object: its DELETE fails once
    real_delete = request.delete
    failures = [requests.ConnectionError("connection reset by peer")]

    def delete(uri):
        if failures:
            raise failures.pop()
        return real_delete(uri)

    monkeypatch.setattr(request, "delete", delete)
    with pytest.raises(BackendError):
        q.cancel()
    assert not fake.query(q.query_id).cancelled  # still running on the server
    assert q.progress().state != "CANCELLED"  # and not said stopped here
    q.cancel()  # the watch's next try reaches the coordinator
    assert fake.query(q.query_id).cancelled
    assert q.progress().state == "CANCELLED"
    with pytest.raises(QueryCancelled):
        list(q.batches())
    q.cancel()  # a second cancel after the first went out is harmless
