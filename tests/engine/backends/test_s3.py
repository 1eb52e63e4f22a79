"""What only one ObjectStore does: LocalStore keeps keys inside its root, S3Store tells
wrong credentials from an unreachable or unknown host. The shared contract is in
tests/engine/backends/behaviour/test_object_store.py."""

from __future__ import annotations

import pytest

from engine.backends.local_store import LocalStore
from engine.backends.s3 import S3Store
from engine.errors import Conflict, ValidationError


def test_local_keys_cannot_escape_the_root(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.create_bucket("b")
    with pytest.raises(ValidationError):
        store.put("b", "../../etc/passwd", b"x")
    assert store.uri("b", "ws/x").startswith("file://")
    store.put("b", "ws/a", b"x")
    with pytest.raises(Conflict, match="prefix"):  # a file cannot also be a directory
        store.put("b", "ws/a/b", b"y")
    with pytest.raises(Conflict, match="prefix"):
        store.put("b", "ws", b"y")


def test_s3_wrong_credentials_unreachable_and_unknown_host(seaweed):
    wrong_key = S3Store(seaweed.endpoint, seaweed.region, "nobody", "wrong-secret-000")
    result = wrong_key.test()
    assert not result.ok and result.error_kind == "auth"
    assert "wrong-secret-000" not in result.detail
    wrong_secret = S3Store(seaweed.endpoint, seaweed.region, seaweed.access_key, "bad-secret")
    assert wrong_secret.test().error_kind == "auth"
    refused = S3Store("http://127.0.0.1:9", "us-east-1", "a", "b", timeout_s=1).test()
    assert refused.error_kind == "refused"
    dns = S3Store("http://no-such-host.invalid:9000", "us-east-1", "a", "b", timeout_s=1).test()
    assert dns.error_kind == "dns"
    assert (
        S3Store(seaweed.endpoint, seaweed.region, seaweed.access_key, seaweed.secret_key)
        .test()
        .version.startswith("SeaweedFS")
    )
