"""A schema fuzz of the engine's API (issue 16, "Must show"): schemathesis generates requests
for every operation of the served /openapi.json, valid and not, sent with a valid token to
a real app (the engine's Starlette app over ASGI, on a real migrated database). Bad input
must be a 4xx with one clear message; no request may get a 5xx or crash the app."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")  # the `test` extra installs it

from hypothesis import HealthCheck, settings  # noqa: E402

# Bounded: 4 generated examples per operation, plus the deterministic cases of
# schemathesis's coverage phase (~3,000 requests in all, about a minute on two cores).
EXAMPLES = 4
statuses: collections.Counter[tuple[str, int]] = collections.Counter()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory):
    from engine.api.server import Api
    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import open_services

    data = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    services = open_services(Settings(data_dir=data), migrate=True)
    admin = Actor("admin", "test")
    services.users.register(admin)  # the first user: the platform admin
    services.workspaces.create(admin, "fuzz_ws")
    # Tokens a fuzzed `tokens.revoke 1` may hit first, so the fuzz keeps its own.
    for n in range(40):
        services.tokens.create(admin, name=f"spare{n}")
    token = services.tokens.create(admin, name="fuzz").token
    app = Api(services).app()
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app), token
    finally:
        services.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    return fuzzed[0]


@pytest.fixture(scope="module")
def token(fuzzed) -> str:
    return fuzzed[1]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples every run: a failure here is reproducible
    database=None,  # and nothing written under the checkout
)
def test_no_operation_answers_5xx(case, token):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    statuses[(case.operation.label, response.status_code)] += 1
    assert response.status_code < 500, (case.operation.label, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        message = body["error"]["message"] if "error" in body else body.get("detail")
        assert isinstance(message, str) and message.strip(), response.text[:500]
        assert "\n" not in message.strip(), message


def test_the_fuzz_kept_its_token_and_reached_the_verbs():
    """A fuzz that only saw 401s proved nothing: most operations must have got past the door."""
    if not statuses:
        pytest.skip("the fuzz did not run (selected alone)")
    ops = {op for op, _ in statuses}
    past_the_door = {op for op, code in statuses if code != 401}
    assert len(past_the_door) >= 0.9 * len(ops), sorted(ops - past_the_door)


def test_a_value_of_the_wrong_type_is_a_400_naming_the_parameter(fuzzed):
    """What the fuzz found first: `audit.list` with `"limit": null` was a 500 (a TypeError in
    the service). Every verb's arguments are now checked against its annotations."""
    from starlette.testclient import TestClient

    api_schema, token = fuzzed
    client = TestClient(api_schema.app)
    auth = {"Authorization": f"Bearer {token}"}

    def audit_list(kwargs: dict) -> tuple[int, dict]:
        answer = client.post("/v1/audit/list", json={"kwargs": kwargs}, headers=auth)
        return answer.status_code, answer.json()

    assert audit_list({"limit": 5})[0] == 200
    for bad in (None, "ten", [1], 10**30, True):
        code, body = audit_list({"limit": bad})
        assert code == 400, (bad, body)
        assert body["error"]["class"] == "ValidationError"
        assert body["error"]["message"].startswith("limit: expected an integer"), body
    code, body = audit_list({"workspace": 3})
    assert code == 400 and "workspace" in body["error"]["message"]
    # A method a route does not take: the engine's error shape, not a bare text body.
    wrong = client.get("/v1/audit/list", headers=auth)
    assert wrong.status_code == 405 and "use POST" in wrong.json()["error"]["message"]
    missing = client.post("/v2/nothing", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["class"] == "NotFound"
