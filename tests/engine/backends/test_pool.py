"""The backend pool owns lifetimes: one backend per slot, shared; rebuilt (and the old one
closed) when what it was built from changes; every one closed when the pool closes."""

from __future__ import annotations

import threading

from engine.backends.pool import BackendPool


class Held:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class NoClose:
    """A backend with nothing to close (an S3 client): the pool leaves it be."""


def test_a_slot_is_built_once_and_shared() -> None:
    pool, built = BackendPool(), []

    def build() -> Held:
        built.append(1)
        return Held(len(built))

    first = pool.get(("sql", "w", "c"), "v1", build)
    assert pool.get(("sql", "w", "c"), "v1", build) is first
    assert pool.get(("sql", "other", "c"), "v1", build) is not first  # another slot
    assert len(built) == 2 and first.closed == 0


def test_a_changed_fingerprint_rebuilds_and_closes_the_old_backend() -> None:
    pool = BackendPool()
    old = pool.get("slot", "v1", lambda: Held(1))
    new = pool.get("slot", "v2", lambda: Held(2))
    assert new is not old and new.n == 2
    assert old.closed == 1 and new.closed == 0
    assert pool.get("slot", "v2", lambda: Held(3)) is new


def test_close_closes_every_backend_once_and_a_later_get_builds_anew() -> None:
    pool = BackendPool()
    a, b = pool.get("a", "v", lambda: Held(1)), pool.get("b", "v", lambda: Held(2))
    pool.get("c", "v", NoClose)
    pool.close()
    pool.close()
    assert (a.closed, b.closed) == (1, 1) and len(pool) == 0
    assert pool.get("a", "v", lambda: Held(3)) is not a


def test_callers_racing_for_one_slot_get_one_backend() -> None:
    pool, got, built = BackendPool(), [], []
    start = threading.Barrier(8)

    def build() -> Held:
        built.append(1)
        return Held(len(built))

    def one() -> None:
        start.wait()
        got.append(pool.get("slot", "v", build))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(b is got[0] for b in got)


def test_a_build_may_take_another_slots_backend() -> None:
    """A workspace's DuckDB is built on its pooled catalog, under the same pool."""
    pool = BackendPool()
    catalog = pool.get("catalog", "v", lambda: Held(1))
    engine = pool.get("sql", "v", lambda: (pool.get("catalog", "v", lambda: Held(2)), Held(3)))
    assert engine[0] is catalog
