"""/readyz (README "Shared site", Operations): 503 unless the database answers and its
schema is current, and it reports the scheduler lease: who holds it, what kind of engine
that is, and whether it is this engine. Readiness never depends on holding the lease."""

from __future__ import annotations

import time

from sqlalchemy import text
from starlette.testclient import TestClient

from engine.api.server import Api
from engine.runner.engine import Engine


def _ready(client: TestClient) -> tuple[int, dict]:
    answer = client.get("/readyz")
    return answer.status_code, answer.json()


def _wait_for(client: TestClient, predicate) -> dict:
    deadline = time.monotonic() + 15
    body: dict = {}
    while time.monotonic() < deadline:
        _, body = _ready(client)
        if predicate(body):
            return body
        time.sleep(0.05)
    return body


def test_readyz_reports_who_holds_the_lease_and_whether_this_engine_does(services):
    eng = Engine(services, poll_interval=0.05)
    eng.heartbeat_s = 0.1
    client = TestClient(Api(services, eng).app())

    code, body = _ready(client)  # nobody holds it yet: still ready
    assert code == 200 and body["ready"] is True
    assert body["database"] == "ok" and body["schema_current"] is True
    assert body["lease"]["holder"] is None and body["lease"]["held_by_this_engine"] is False
    assert body["lease"]["this_engine"] == eng.id

    eng.start()
    try:
        body = _wait_for(client, lambda b: b["lease"]["held_by_this_engine"])
        assert body["lease"] == {
            "holder": eng.id,
            "holder_kind": "daemon",
            "expires_in_s": body["lease"]["expires_in_s"],
            "this_engine": eng.id,
            "held_by_this_engine": True,
        }
        assert 0 < body["lease"]["expires_in_s"] <= services.settings.lease_seconds
        assert body["holds_lease"] is True and body["lease_holder"] == eng.id
    finally:
        eng.stop(grace_s=1)

    # Another engine holds it: this one is told so, and is still ready (a standby).
    services.engine_state.release_lease("scheduler", eng.id)
    assert services.engine_state.acquire_lease("scheduler", "other-host:1:abc", 60)
    code, body = _ready(client)
    assert code == 200 and body["ready"] is True
    assert body["lease"]["holder"] == "other-host:1:abc"
    assert body["lease"]["holder_kind"] == "daemon"
    assert body["lease"]["held_by_this_engine"] is False and body["holds_lease"] is False

    # A console's embedded engine holding it is named as such.
    from engine.services.engine_state import CONSOLE_ENGINE_PREFIX

    services.engine_state.release_lease("scheduler", "other-host:1:abc")
    console = f"{CONSOLE_ENGINE_PREFIX}laptop:2:def"
    assert services.engine_state.acquire_lease("scheduler", console, 60)
    _, body = _ready(client)
    assert body["lease"]["holder"] == console and body["lease"]["holder_kind"] == "console"


def test_readyz_is_503_on_a_schema_behind_and_on_a_database_gone(services):
    client = TestClient(Api(services, None).app())
    assert _ready(client)[0] == 200
    with services.db.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        code, body = _ready(client)
        assert code == 503 and body["ready"] is False
        assert body["database"] == "ok" and body["schema"] == "0001"
        assert body["schema_current"] is False
    finally:
        with services.db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})

    def unreachable() -> None:
        from engine.errors import MetadataUnavailable

        raise MetadataUnavailable("metadata database unavailable: nothing listens")

    services.db.check = unreachable
    code, body = _ready(client)
    assert code == 503 and body["ready"] is False
    assert body["database"].startswith("unavailable")
    assert body["lease"]["holder"] is None and body["holds_lease"] is False
