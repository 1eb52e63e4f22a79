"""The SqlBackend promises, run against every implementation (DuckDB, Trino): results
stream as typed Arrow batches, a row cap leaves the rest for the next fetch, errors carry
the position the console puts its cursor on, and cancel stops the query on the engine."""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time

import pyarrow as pa
import pytest

from engine.backends.base import QueryContext, Reattachable
from engine.errors import QueryCancelled, QueryError
from tests.engine.backends.behaviour.conftest import SqlImpl, lacking

CTX = QueryContext(user="ana")


def test_a_query_has_an_id_as_soon_as_it_is_submitted(sql: SqlImpl) -> None:
    query = sql.backend.execute(sql.rows(3), CTX)
    assert query.query_id  # saved as the run's external id before any row is read
    assert query.fetch().num_rows == 3


def test_rows_come_back_in_order_with_their_type(sql: SqlImpl) -> None:
    table = sql.backend.execute(sql.rows(2500), CTX).fetch()
    assert table.schema == pa.schema([("value", pa.int64())])
    assert table.column("value").to_pylist() == list(range(2500))


def test_each_type_converts_to_the_same_arrow_type(sql: SqlImpl) -> None:
    table = sql.backend.execute(sql.typed, CTX).fetch()
    assert table.schema == pa.schema(
        [
            ("s", pa.string()),
            ("d", pa.float64()),
            ("b", pa.bool_()),
            ("day", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("amount", pa.decimal128(4, 2)),
            ("missing", pa.int64()),
        ]
    )
    assert table.to_pylist() == [
        {
            "s": "a",
            "d": 1.5,
            "b": True,
            "day": dt.date(2026, 11, 24),
            "ts": dt.datetime(2026, 11, 24, 10, 30),
            "amount": decimal.Decimal("12.34"),
            "missing": None,
        }
    ]


def test_an_empty_result_keeps_its_columns(sql: SqlImpl) -> None:
    table = sql.backend.execute(sql.rows(0), CTX).fetch()
    assert table.num_rows == 0 and table.schema.names == ["value"]


def test_an_empty_result_streams_one_empty_batch_with_its_columns(sql: SqlImpl) -> None:
    """What streams a result (the HTTP API, an export) learns the columns from its first
    batch: a result with no row still sends one, with the schema and no row."""
    batches = list(sql.backend.execute(sql.rows(0), CTX).batches())
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.names == ["value"]


def test_a_row_cap_leaves_the_rest_for_the_next_fetch(sql: SqlImpl) -> None:
    """The console shows the first rows, then fetches more without losing or repeating any."""
    query = sql.backend.execute(sql.rows(25_000), CTX)
    first = query.fetch(1000)
    second = query.fetch(15_000)
    rest = query.fetch()
    assert (first.num_rows, second.num_rows, rest.num_rows) == (1000, 15_000, 9000)
    values = [t.column("value").to_pylist() for t in (first, second, rest)]
    assert values[0] + values[1] + values[2] == list(range(25_000))
    assert first.schema == second.schema == rest.schema
    assert query.fetch().num_rows == 0  # nothing left, and no error for asking
    assert query.progress().state == "FINISHED"


def test_batches_stream_the_whole_result(sql: SqlImpl) -> None:
    seen = []
    query = sql.backend.execute(sql.rows(150_000), CTX, on_progress=seen.append)
    sizes = [batch.num_rows for batch in query.batches()]
    assert sum(sizes) == 150_000 and len(sizes) > 1  # streamed, not one table
    final = query.progress()
    assert final.state == "FINISHED" and final.rows == 150_000
    assert seen and seen[-1].state == "FINISHED"


def test_two_queries_on_one_backend_do_not_mix(sql: SqlImpl) -> None:
    a = sql.backend.execute(sql.rows(20_000), CTX)
    b = sql.backend.execute(sql.rows(30_000), CTX)
    a1, b1, a2, b2 = a.fetch(5), b.fetch(7), a.fetch(), b.fetch()
    assert a1.column("value").to_pylist() + a2.column("value").to_pylist() == list(range(20_000))
    assert b1.column("value").to_pylist() + b2.column("value").to_pylist() == list(range(30_000))
    assert a.query_id != b.query_id


@pytest.mark.parametrize(
    ("statement", "line", "column"),
    [
        ("SELEC 1", 1, 1),  # a misspelled keyword
        ("SELECT 1,\n  2 ) 3", 2, 5),  # an unmatched parenthesis on the second line
    ],
)
def test_a_syntax_error_names_its_line_and_column(
    sql: SqlImpl, statement: str, line: int, column: int
) -> None:
    """The console puts the cursor where the engine says the error is."""
    with pytest.raises(QueryError) as info:
        sql.backend.execute(statement, CTX).fetch()
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.kind == "query"


def test_a_runtime_failure_carries_the_engines_message(sql: SqlImpl) -> None:
    with pytest.raises(QueryError, match="disk on fire") as info:
        sql.backend.execute(sql.fail("disk on fire"), CTX).fetch()
    assert not isinstance(info.value, QueryCancelled)
    assert sql.backend.execute(sql.rows(1), CTX).fetch().num_rows == 1  # the backend goes on


def test_cancel_stops_the_query_on_the_engine(sql: SqlImpl) -> None:
    """Ctrl-C / ctrl+k: cancel from another thread; the reader gets QueryCancelled quickly
    and the engine itself stopped the work."""
    query = sql.backend.execute(sql.long, CTX)
    timer = threading.Timer(0.5, query.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(QueryCancelled):
        query.fetch()
    timer.join()
    assert time.monotonic() - started < 20  # the statement alone would run far longer
    assert query.progress().state == "CANCELLED"
    assert sql.stopped_on_server(query)
    query.cancel()  # a second cancel is harmless
    assert sql.backend.execute(sql.rows(2), CTX).fetch().num_rows == 2


def test_cancel_after_the_end_changes_nothing(sql: SqlImpl) -> None:
    query = sql.backend.execute(sql.rows(10), CTX)
    assert query.fetch().num_rows == 10
    query.cancel()
    assert query.progress().state == "FINISHED"


def test_a_query_is_known_by_id_to_another_client(
    request: pytest.FixtureRequest, sql: SqlImpl
) -> None:
    """Re-adoption after a crash asks the engine for a query's state by its id alone."""
    lacking(request, sql, "query_by_id")
    backend = sql.backend
    assert isinstance(backend, Reattachable)  # what the reconciler tests for
    query = backend.execute(sql.rows(10), CTX)
    assert query.query_id
    assert backend.external_state(query.query_id) == "running"  # nobody has read it yet
    assert query.fetch().num_rows == 10
    assert backend.external_state(query.query_id) == "succeeded"
    assert backend.external_state("20260101_000000_00000_nosuch") is None


def test_health_says_which_engine_answers(sql: SqlImpl) -> None:
    result = sql.backend.test()
    assert result.ok and result.version and result.latency_ms is not None
