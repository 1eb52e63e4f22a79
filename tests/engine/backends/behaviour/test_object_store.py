"""The ObjectStore promises, run against every implementation (the local directory store
and S3 on SeaweedFS): buckets, put/get/delete, listing by prefix and delimiter with paging,
sizes, URIs, and one clear `not_found` for whatever does not exist."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import pytest

from engine.errors import BackendError, SadeemError
from tests.engine.backends.behaviour.conftest import StoreImpl, lacking


@pytest.fixture
def bucket(store: StoreImpl) -> str:
    """A new, empty bucket for one test."""
    name = f"b-{uuid.uuid4().hex[:12]}"
    store.store.create_bucket(name)
    return name


def keys(store: StoreImpl, bucket: str, prefix: str = "") -> list[str]:
    return [o.key for o in store.store.list(bucket, prefix).objects]


def test_create_bucket_is_idempotent(store: StoreImpl) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    assert not store.store.bucket_exists(name)
    store.store.create_bucket(name)
    store.store.create_bucket(name)
    assert store.store.bucket_exists(name)
    assert store.store.list(name).objects == []


def test_put_get_overwrite_and_delete(store: StoreImpl, bucket: str) -> None:
    every_byte = bytes(range(256)) * 4
    store.store.put(bucket, "ws/raw/blob.bin", every_byte)
    store.store.put(bucket, "ws/raw/empty", b"")
    assert store.store.get(bucket, "ws/raw/blob.bin") == every_byte
    assert store.store.get(bucket, "ws/raw/empty") == b""
    store.store.put(bucket, "ws/raw/blob.bin", b"second")  # a put replaces, never appends
    assert store.store.get(bucket, "ws/raw/blob.bin") == b"second"
    store.store.delete(bucket, "ws/raw/blob.bin")
    assert keys(store, bucket) == ["ws/raw/empty"]


def test_keys_keep_spaces_and_unicode(store: StoreImpl, bucket: str) -> None:
    key = "ws/meter readings/zürich 2026.csv"
    store.store.put(bucket, key, b"id,kwh\n")
    assert keys(store, bucket, "ws/meter ") == [key]
    assert store.store.get(bucket, key) == b"id,kwh\n"


def test_list_filters_by_prefix_in_key_order_with_sizes(store: StoreImpl, bucket: str) -> None:
    for key, data in [("ws/b/2", b"22"), ("ws/a/1", b"1"), ("ws/a/10", b"0" * 10), ("x", b"")]:
        store.store.put(bucket, key, data)
    page = store.store.list(bucket, "ws/")
    assert [(o.key, o.size) for o in page.objects] == [
        ("ws/a/1", 1),
        ("ws/a/10", 10),
        ("ws/b/2", 2),
    ]
    assert all(isinstance(o.last_modified, datetime) for o in page.objects)
    assert all(o.last_modified.tzinfo is not None for o in page.objects)  # type: ignore[union-attr]
    assert page.common_prefixes == [] and page.next_token is None
    assert keys(store, bucket, "ws/a/1") == ["ws/a/1", "ws/a/10"]  # a prefix, not a folder
    assert keys(store, bucket, "nothing/") == []


def test_a_delimiter_groups_keys_into_common_prefixes(store: StoreImpl, bucket: str) -> None:
    for key in ("ws/a/part-0", "ws/a/deep/part-1", "ws/b/other.json", "ws/top.json"):
        store.store.put(bucket, key, b"x")
    top = store.store.list(bucket, "ws/", delimiter="/")
    assert top.common_prefixes == ["ws/a/", "ws/b/"]
    assert [o.key for o in top.objects] == ["ws/top.json"]
    inner = store.store.list(bucket, "ws/a/", delimiter="/")
    assert (inner.common_prefixes, [o.key for o in inner.objects]) == (
        ["ws/a/deep/"],
        ["ws/a/part-0"],
    )


def test_an_emptied_prefix_is_no_longer_listed(
    request: pytest.FixtureRequest, store: StoreImpl, bucket: str
) -> None:
    lacking(request, store, "forget_empty_prefix")
    store.store.put(bucket, "ws/a/keep", b"x")
    store.store.put(bucket, "ws/b/only", b"x")
    store.store.delete(bucket, "ws/b/only")
    assert store.store.list(bucket, "ws/", delimiter="/").common_prefixes == ["ws/a/"]


def test_paging_returns_every_key_once(store: StoreImpl, bucket: str) -> None:
    expected = [f"ws/part-{i:02d}.parquet" for i in range(7)]
    for key in reversed(expected):
        store.store.put(bucket, key, b"x")
    got, token = [], None
    for _page in range(3):
        page = store.store.list(bucket, "ws/", page_size=3, token=token)
        assert len(page.objects) <= 3
        got += [o.key for o in page.objects]
        token = page.next_token
        if token is None:
            break
    assert got == expected and token is None  # three pages, then no token


def test_prefix_size_counts_objects_and_bytes(store: StoreImpl, bucket: str) -> None:
    for i in range(5):
        store.store.put(bucket, f"ws/gold/f{i}", b"x" * (i + 1))
    store.store.put(bucket, "ws/other", b"ignored")
    assert store.store.prefix_size(bucket, "ws/gold/") == (5, 15)
    assert store.store.prefix_size(bucket, "ws/none/") == (0, 0)


def test_a_missing_key_is_not_found_and_deleting_it_is_harmless(
    store: StoreImpl, bucket: str
) -> None:
    with pytest.raises(BackendError) as info:
        store.store.get(bucket, "ws/missing.parquet")
    assert info.value.kind == "not_found" and "ws/missing.parquet" in str(info.value)
    store.store.put(bucket, "ws/dir/file", b"x")
    with pytest.raises(BackendError) as info:
        store.store.get(bucket, "ws/dir")  # a prefix is not an object
    assert info.value.kind == "not_found"
    store.store.delete(bucket, "ws/missing.parquet")  # like S3: deleting nothing succeeds


def test_a_missing_bucket_is_not_found_everywhere(store: StoreImpl) -> None:
    name = f"missing-{uuid.uuid4().hex[:10]}"
    for call in (
        lambda: store.store.list(name),
        lambda: store.store.get(name, "k"),
        lambda: store.store.put(name, "k", b"x"),
    ):
        with pytest.raises(BackendError) as info:
            call()
        assert info.value.kind == "not_found" and name in str(info.value)
    assert not store.store.bucket_exists(name)  # and nothing created it on the way


def test_a_key_cannot_reach_another_bucket(store: StoreImpl, bucket: str) -> None:
    """A workspace's keys stay inside its bucket, whatever `..` they contain."""
    other = f"b-{uuid.uuid4().hex[:12]}"
    store.store.create_bucket(other)
    with contextlib.suppress(SadeemError):  # refusing the key is as good as keeping it in
        store.store.put(bucket, f"../{other}/planted", b"x")
    assert keys(store, other) == []


def test_a_key_can_also_be_a_prefix_of_other_keys(
    request: pytest.FixtureRequest, store: StoreImpl, bucket: str
) -> None:
    lacking(request, store, "key_and_prefix")
    store.store.put(bucket, "ws/a", b"object")
    store.store.put(bucket, "ws/a/b", b"below it")
    assert keys(store, bucket, "ws/") == ["ws/a", "ws/a/b"]


def test_uri_names_the_bucket_and_prefix(store: StoreImpl, bucket: str) -> None:
    uri = store.store.uri(bucket, "ws/bronze/")
    assert uri.startswith(("s3://", "file://")) and uri.endswith(f"{bucket}/ws/bronze")
    assert store.store.uri(bucket, "ws/bronze") == uri
    assert store.store.uri(bucket, "").endswith(bucket)


def test_health_checks_the_named_bucket(store: StoreImpl, bucket: str) -> None:
    assert store.store.test().ok
    assert store.store.test(bucket).ok
    missing = store.store.test(f"missing-{uuid.uuid4().hex[:10]}")
    assert not missing.ok and missing.error_kind == "not_found"
