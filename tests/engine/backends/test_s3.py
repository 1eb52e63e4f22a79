"""S3Store against a real SeaweedFS server, and LocalStore on disk: the same contract."""

from __future__ import annotations

import uuid

import pytest

from engine.backends.local_store import LocalStore
from engine.backends.s3 import S3Store
from engine.errors import BackendError, ValidationError


@pytest.fixture(params=["s3", "local"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    sw = request.getfixturevalue("seaweed")
    return S3Store(sw.endpoint, sw.region, sw.access_key, sw.secret_key)


def test_bucket_objects_pagination_and_size(store):
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    assert not store.bucket_exists(bucket)
    store.create_bucket(bucket)
    store.create_bucket(bucket)  # idempotent
    assert store.bucket_exists(bucket)
    for i in range(7):
        store.put(bucket, f"ws/a/part-{i}.parquet", b"x" * (i + 1))
    store.put(bucket, "ws/b/other.json", b"{}")
    store.put(bucket, "elsewhere/z", b"zz")
    keys, token = [], None
    while True:
        page = store.list(bucket, "ws/a/", page_size=3, token=token)
        assert len(page.objects) <= 3
        keys += [o.key for o in page.objects]
        token = page.next_token
        if token is None:
            break
    assert keys == [f"ws/a/part-{i}.parquet" for i in range(7)]
    top = store.list(bucket, "ws/", delimiter="/")
    assert top.common_prefixes == ["ws/a/", "ws/b/"] and top.objects == []
    assert store.prefix_size(bucket, "ws/") == (8, sum(range(1, 8)) + 2)
    assert store.get(bucket, "ws/b/other.json") == b"{}"
    store.delete(bucket, "ws/b/other.json")
    with pytest.raises(BackendError) as info:
        store.get(bucket, "ws/b/other.json")
    assert info.value.kind == "not_found"
    assert store.test(bucket).ok
    missing = store.test("no-such-bucket-here")
    assert not missing.ok and missing.error_kind == "not_found"


def test_missing_bucket_is_a_clear_error(store):
    for call in (
        lambda: store.list("no-such-bucket-xyz"),
        lambda: store.get("no-such-bucket-xyz", "k"),
    ):
        with pytest.raises(BackendError) as info:
            call()
        assert info.value.kind == "not_found"
        assert "no-such-bucket-xyz" in str(info.value)


def test_local_keys_cannot_escape_the_root(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.create_bucket("b")
    with pytest.raises(ValidationError):
        store.put("b", "../../etc/passwd", b"x")
    assert store.uri("b", "ws/x").startswith("file://")


def test_s3_wrong_credentials_unreachable_and_unknown_host(seaweed):
    wrong_key = S3Store(seaweed.endpoint, seaweed.region, "nobody", "wrong-secret-000")
    result = wrong_key.test()
    assert not result.ok and result.error_kind == "auth"
    assert "wrong-secret-000" not in result.detail
    wrong_secret = S3Store(seaweed.endpoint, seaweed.region, seaweed.access_key, "bad-secret")
    assert wrong_secret.test().error_kind == "auth"
    refused = S3Store("http://127.0.0.1:9", "us-east-1", "a", "b", connect_timeout=1).test()
    assert refused.error_kind == "refused"
    dns = S3Store(
        "http://no-such-host.invalid:9000", "us-east-1", "a", "b", connect_timeout=1
    ).test()
    assert dns.error_kind == "dns"
    assert (
        S3Store(seaweed.endpoint, seaweed.region, seaweed.access_key, seaweed.secret_key)
        .test()
        .version.startswith("SeaweedFS")
    )
