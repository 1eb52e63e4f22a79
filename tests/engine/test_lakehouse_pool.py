"""A workspace's backends come from one pool: shared between calls, rebuilt when their
connection changes (the old one closed), all closed when the engine stops. Callers
never close them (SqlService.warm included)."""

from __future__ import annotations

from engine.backends.base import QueryContext
from engine.context import Actor

ADMIN = Actor("admin", "test")
CTX = QueryContext(user="admin")


def _closed(backend) -> bool:
    try:
        backend.execute("SELECT 1", CTX).fetch()
    except Exception as exc:  # DuckDB's own "connection closed" error, or Sadeem's
        return "closed" in str(exc).lower()
    return False


def test_a_workspaces_sql_engine_is_shared_and_rebuilt_when_its_connection_changes(services):
    services.connections.create(ADMIN, "duck", "duckdb", {"threads": 2})
    ws = services.workspaces.create(ADMIN, "w", sql_connection="duck")
    _, first = services.lakehouse.sql(ADMIN, ws)
    assert services.lakehouse.sql(ADMIN, ws)[1] is first
    services.sql.warm(ADMIN, "w")  # warms the shared one and leaves it open
    assert not _closed(first)
    services.connections.update(ADMIN, "duck", {"threads": 1})
    _, second = services.lakehouse.sql(ADMIN, ws)
    assert second is not first and _closed(first) and not _closed(second)
    services.lakehouse.close()
    assert _closed(second)


def test_a_remote_sql_engine_is_not_rebuilt_per_call(services):
    services.connections.create(ADMIN, "trino", "trino", {"host": "127.0.0.1", "port": 9})
    ws = services.workspaces.create(ADMIN, "w", sql_connection="trino")
    name, backend = services.lakehouse.sql(ADMIN, ws)
    assert name == "trino" and services.lakehouse.sql(ADMIN, ws)[1] is backend
    services.connections.update(ADMIN, "trino", {"port": 10})
    assert services.lakehouse.sql(ADMIN, ws)[1] is not backend


def test_workspaces_never_share_an_engine(services):
    one = services.workspaces.create(ADMIN, "one")
    two = services.workspaces.create(ADMIN, "two")
    assert services.lakehouse.sql(ADMIN, one)[1] is not services.lakehouse.sql(ADMIN, two)[1]


def test_a_sql_engine_that_reads_no_catalog_does_not_need_the_embedded_one(services) -> None:
    """Only an engine that reads the workspace's catalog itself is built with it: a Trino
    workspace keeps working when the embedded catalog is unavailable."""
    services.connections.create(ADMIN, "remote", "trino", {"host": "127.0.0.1", "port": 9})
    ws = services.workspaces.create(ADMIN, "w", sql_connection="remote")

    def unavailable():
        raise AssertionError("the embedded catalog was asked for")

    services.lakehouse.embedded_catalog = unavailable
    assert services.lakehouse.sql(ADMIN, ws)[0] == "remote"
