"""A statement's critical path holds only what it needs: it never waits for its history row,
and on SQLite its checks never wait for a writer (issue 17: per-query overhead)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine.context import Actor
from engine.settings import Settings
from engine.wiring import open_services


@pytest.fixture
def lake(tmp_path):
    svc = open_services(
        Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'meta.db'}"),
        migrate=True,
    )
    admin = Actor("admin", "test")
    svc.users.register(admin)
    svc.workspaces.create(admin, "w")
    svc.users.create(admin, "reader")
    svc.workspaces.add_member(admin, "w", "reader", "viewer")
    yield svc, tmp_path / "meta.db"
    svc.close()


def run_in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def test_a_select_answers_while_another_process_holds_the_write_lock(lake):
    svc, db_path = lake
    reader = Actor("reader", "test")
    svc.sql.execute(reader, "w", "SELECT 1").fetch()  # warm: DuckDB built, parser loaded
    writer = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    writer.execute("BEGIN IMMEDIATE")  # another process writing (a long audit batch, say)
    try:
        thread, out = run_in_thread(
            lambda: svc.sql.execute(reader, "w", "SELECT 42 AS x").fetch().to_pylist()
        )
        thread.join(10)  # the busy timeout is 30 s: waiting for the writer would time out here
        assert not thread.is_alive(), "the SELECT waited for another process's write lock"
        assert out.get("value") == [{"x": 42}], out.get("error")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    history = svc.sql.history(reader)  # written once the lock is gone
    assert [h.sql for h in history][:1] == ["SELECT 42 AS x"]


def test_the_result_does_not_wait_for_its_history_row(lake, monkeypatch):
    svc, _ = lake
    reader = Actor("reader", "test")
    release = threading.Event()
    real_write = type(svc.sql)._write_history

    def slow_write(self, values):
        release.wait(20)  # a busy metadata DB
        real_write(self, values)

    monkeypatch.setattr(type(svc.sql), "_write_history", slow_write)
    thread, out = run_in_thread(lambda: svc.sql.execute(reader, "w", "SELECT 7 AS n").fetch())
    thread.join(10)
    assert not thread.is_alive(), "the statement waited for its history row"
    assert out["value"].to_pylist() == [{"n": 7}]
    release.set()
    assert [h.sql for h in svc.sql.history(reader)] == ["SELECT 7 AS n"]


def test_rows_still_pending_are_written_when_the_services_close(tmp_path, monkeypatch):
    import time

    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'meta.db'}"
    )
    svc = open_services(settings, migrate=True)
    admin = Actor("admin", "test")
    svc.users.register(admin)
    svc.workspaces.create(admin, "w")
    real_write = type(svc.sql)._write_history

    def slow_write(self, values):
        time.sleep(0.05)  # a busy metadata DB: rows are still queued when the CLI ends
        real_write(self, values)

    monkeypatch.setattr(type(svc.sql), "_write_history", slow_write)
    for i in range(20):
        svc.sql.execute(admin, "w", f"SELECT {i} AS i").fetch()
    svc.close()  # a CLI process ending right after its statements
    with sqlite3.connect(tmp_path / "meta.db") as db:
        assert db.execute("SELECT count(*) FROM query_history").fetchone() == (20,)


def test_a_repeated_query_reads_the_table_metadata_once_until_it_changes(lake, monkeypatch):
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    svc, _ = lake
    admin = Actor("admin", "test")
    svc.provisioning.apply(admin, "w")
    svc.sql.execute(admin, "w", "CREATE TABLE w_bronze.t AS SELECT 1 AS x").fetch()
    loads: list[str] = []
    real_load = SqlCatalog.load_table

    def counting_load(self, identifier):
        loads.append(str(identifier))
        return real_load(self, identifier)

    monkeypatch.setattr(SqlCatalog, "load_table", counting_load)

    def count() -> int:
        q = svc.sql.execute(admin, "w", "SELECT count(*) AS n FROM w_bronze.t")
        return q.fetch().column("n")[0].as_py()

    assert [count() for _ in range(5)] == [1] * 5
    assert len(loads) <= 1, f"the unchanged table was loaded {len(loads)} times"
    table = real_load(svc.lakehouse.embedded_catalog().pyiceberg_catalog(), "w_bronze.t")
    table.append(pa.table({"x": pa.array([2], pa.int32())}))  # another writer
    loads.clear()
    assert count() == 2 and count() == 2
    assert len(loads) == 1, "a changed table must be read again, once"
