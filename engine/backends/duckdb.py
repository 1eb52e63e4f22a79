"""DuckDB, the embedded SQL engine: reads the workspace's Iceberg tables from the catalog
and writes `CREATE TABLE ... AS SELECT` / `INSERT INTO ... SELECT` results back as Iceberg
commits through pyiceberg (DuckDB cannot write an Iceberg catalog itself).

DuckDB's iceberg and httpfs extensions cannot be installed on an air-gapped machine, so an
Iceberg table is exposed as a view over `read_parquet()` of the data files pyiceberg plans
for the current snapshot; tables whose files are not local, that carry delete files or an
evolved schema are read through pyiceberg into Arrow instead.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from engine.backends.base import HealthResult, QueryContext, QueryProgress
from engine.errors import BackendError, QueryCancelled, QueryError
from engine.sql_analysis import load_sqlglot

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyiceberg.catalog import Catalog

BATCH_ROWS = 64 * 1024
_LINE = re.compile(r"\nLINE (\d+): (.*)\n(\s*)\^", re.S)


def query_error(exc: Exception) -> QueryError:
    """DuckDB's error text -> QueryError with the line/column its caret points at."""
    text = str(exc)
    line = column = None
    m = re.search(r"LINE (\d+): ", text)
    if m:
        line = int(m.group(1))
        caret = text.find("^", m.end())
        row_start = text.rfind("\n", 0, caret) + 1
        column = max(1, caret - row_start - (m.end() - m.start()) + 1)
    message = text.split("\n\nLINE")[0].strip()
    return QueryError(message, line=line, column=column, error_name=type(exc).__name__)


class DuckDBQuery:
    """A statement on its own DuckDB cursor. Work starts on the first batches()/fetch()."""

    def __init__(
        self,
        backend: DuckDBBackend,
        statements: list[Any],
        sql: str,
        on_progress: Callable[[QueryProgress], None] | None,
    ) -> None:
        self._backend = backend
        self._statements = statements
        self._sql = sql
        self._on_progress = on_progress
        self._cursor = backend._connection.cursor()
        # Progress settings are per connection in DuckDB (they cannot be set globally).
        self._cursor.execute(
            "SET enable_progress_bar=true; SET enable_progress_bar_print=false; "
            "SET progress_bar_time=0"
        )
        self._reader: pa.RecordBatchReader | None = None
        self._pending: pa.RecordBatch | None = None  # rows cut off by a capped fetch()
        self._id = str(uuid.uuid4())
        self._state = "QUEUED"
        self._rows = 0
        self._bytes = 0
        self._started = time.monotonic()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    @property
    def query_id(self) -> str | None:
        return self._id

    @property
    def ui_link(self) -> str | None:
        return None

    def progress(self) -> QueryProgress:
        percent: float | None = None
        if self._state == "RUNNING":
            try:
                value = self._cursor.query_progress()
                percent = value if value >= 0 else None
            except Exception:  # progress is best effort; never fail the caller for it
                percent = None
        elif self._state == "FINISHED":
            percent = 100.0
        return QueryProgress(
            self._state, percent, self._rows, self._bytes, time.monotonic() - self._started
        )

    def cancel(self) -> None:
        self._cancelled.set()
        self._cursor.interrupt()

    def _start(self) -> pa.RecordBatchReader:
        with self._lock:
            if self._reader is None:
                if self._cancelled.is_set():
                    raise QueryCancelled()
                self._state = "RUNNING"
                self._report()
                try:
                    self._reader = self._backend._run(self._cursor, self._statements, self._sql)
                except Exception as exc:
                    raise self._fail(exc) from None
            return self._reader

    def _fail(self, exc: Exception) -> Exception:
        import duckdb

        if self._cancelled.is_set() or isinstance(exc, duckdb.InterruptException):
            self._state = "CANCELLED"
            return QueryCancelled()
        self._state = "FAILED"
        if isinstance(exc, QueryError | BackendError):
            return exc
        if isinstance(exc, duckdb.Error):
            return query_error(exc)
        return QueryError(f"{type(exc).__name__}: {exc}")

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def batches(self) -> Iterator[pa.RecordBatch]:
        reader = self._start()
        try:
            for batch in self._remaining(reader):
                if self._cancelled.is_set():
                    raise QueryCancelled()
                self._rows += batch.num_rows
                self._bytes += batch.nbytes
                self._report()
                yield batch
        except QueryCancelled:
            self._state = "CANCELLED"
            raise
        except Exception as exc:
            raise self._fail(exc) from None
        self._state = "FINISHED"
        self._report()

    def _next(self, reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
        if self._pending is not None:
            batch, self._pending = self._pending, None
            return batch
        try:
            return reader.read_next_batch()
        except StopIteration:
            return None

    def _remaining(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        while (batch := self._next(reader)) is not None:
            yield batch

    def fetch(self, max_rows: int | None = None) -> pa.Table:
        import pyarrow as pa

        reader = self._start()
        batches: list[pa.RecordBatch] = []
        got = 0
        try:
            while max_rows is None or got < max_rows:
                batch = self._next(reader)
                if batch is None:
                    self._state = "FINISHED"
                    break
                if max_rows is not None and got + batch.num_rows > max_rows:
                    # Keep the rest for the next fetch: DuckDB's reader cannot push back.
                    keep = max_rows - got
                    self._pending = batch.slice(keep)
                    batch = batch.slice(0, keep)
                batches.append(batch)
                got += batch.num_rows
        except Exception as exc:
            raise self._fail(exc) from None
        self._rows += got
        self._bytes += sum(b.nbytes for b in batches)
        self._report()
        return pa.Table.from_batches(batches, schema=reader.schema)


class DuckDBBackend:
    """SqlBackend on an in-process DuckDB, optionally over a pyiceberg catalog."""

    def __init__(
        self,
        catalog: Catalog | Callable[[], Catalog] | None = None,
        database: str = ":memory:",
        threads: int | None = None,
        memory_limit: str | None = None,
        shared: bool = False,
    ) -> None:
        import duckdb

        # A shared backend serves many callers (see Lakehouse.sql): their close() keeps it
        # open, and shutdown() closes it for good.
        self.shared = shared
        # A catalog, or a function giving one: loading pyiceberg costs ~0.3 s and ~60 MiB,
        # so it waits for the first statement that names a table.
        self._catalog_source = catalog
        self._has_catalog = catalog is not None
        self._connection: duckdb.DuckDBPyConnection = duckdb.connect(database)
        if threads:
            self._connection.execute(f"SET threads={int(threads)}")
        if memory_limit:
            if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
                raise QueryError(f"memory_limit {memory_limit!r} is not like 4GB")
            self._connection.execute(f"SET memory_limit='{memory_limit}'")
        self._exposed: dict[str, int | None] = {}  # table -> snapshot id exposed as a view
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()

    def __repr__(self) -> str:
        return "DuckDBBackend()"

    @property
    def _catalog(self) -> Catalog:
        with self._catalog_lock:
            if callable(self._catalog_source):
                self._catalog_source = self._catalog_source()
        assert self._catalog_source is not None
        return self._catalog_source

    def close(self) -> None:
        if not self.shared:
            self._connection.close()

    def shutdown(self) -> None:
        self._connection.close()

    def test(self) -> HealthResult:
        import duckdb

        start = time.perf_counter()
        try:
            self._connection.cursor().execute("SELECT 1").fetchall()
        except duckdb.Error as exc:
            return HealthResult(False, detail=str(exc), error_kind="error")
        return HealthResult(
            True, (time.perf_counter() - start) * 1000, f"DuckDB {duckdb.__version__}", "embedded"
        )

    def execute(
        self,
        sql: str,
        ctx: QueryContext,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> DuckDBQuery:
        """Parse now (syntax errors raise here), run on the first batches()/fetch()."""
        load_sqlglot()
        import sqlglot

        try:
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        except sqlglot.errors.ParseError:
            statements = []  # let DuckDB itself report the error with its position
        if not statements:
            statements = [None]
        return DuckDBQuery(self, statements, sql, on_progress)

    # -- execution --------------------------------------------------------------------------

    def _run(
        self, cursor: duckdb.DuckDBPyConnection, statements: list[Any], sql: str
    ) -> pa.RecordBatchReader:
        """Run every statement; the last one's result is the query's result."""
        reader = None
        for i, stmt in enumerate(statements):
            text = sql if len(statements) == 1 else stmt.sql(dialect="duckdb")
            if stmt is not None:
                self._expose_tables(cursor, stmt)
                written = self._iceberg_write(cursor, stmt)
                if written is not None:
                    reader = written
                    continue
            rel = _relation(cursor, text)
            if rel is None:
                reader = _summary({"statement": i + 1, "status": "ok"})
            else:
                reader = rel.to_arrow_reader(BATCH_ROWS)
        assert reader is not None
        return reader

    def _iceberg_tables(self, stmt: Any) -> list[tuple[str, str]]:
        load_sqlglot()
        from sqlglot import exp

        out = []
        for table in stmt.find_all(exp.Table):
            if table.db and table.name:
                out.append((table.db, table.name))
        return out

    def _expose_tables(self, cursor: duckdb.DuckDBPyConnection, stmt: Any) -> None:
        """Make every Iceberg table the statement names readable as `ns.table` in DuckDB."""
        named = self._iceberg_tables(stmt)
        if not self._has_catalog or not named:
            return
        for namespace, name in named:
            ident = f"{namespace}.{name}"
            try:
                table = self._catalog.load_table((namespace, name))
            except Exception:
                # Not an Iceberg table (DuckDB reports it if it does not exist), or one
                # dropped since it was exposed: its view must not serve the old files.
                with self._lock:
                    if self._exposed.pop(ident, "none") != "none":
                        cursor.execute(f'DROP VIEW IF EXISTS "{namespace}"."{name}"')
                continue
            snapshot = table.current_snapshot()
            snap_id = snapshot.snapshot_id if snapshot else None
            with self._lock:
                if self._exposed.get(ident, "none") == snap_id:
                    continue
                if self._expose(cursor, table, namespace, name):
                    self._exposed[ident] = snap_id
                else:  # read into this cursor only: expose again for the next one
                    self._exposed.pop(ident, None)

    def _expose(
        self, cursor: duckdb.DuckDBPyConnection, table: Any, namespace: str, name: str
    ) -> bool:
        """Create the view `namespace.name`; True if every cursor can read it, False if it
        reads an Arrow table registered on this cursor alone."""
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"')
        target = f'"{namespace}"."{name}"'
        scan = table.scan()
        tasks = list(scan.plan_files())
        files = [_local_path(t.file.file_path) for t in tasks]
        simple = (
            tasks
            and all(files)
            and not any(t.delete_files for t in tasks)
            and len(table.schemas()) == 1
        )
        if simple:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            cursor.execute(
                f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM read_parquet([{listing}])"
            )
            return True
        arrow = scan.to_arrow()  # remote files, deletes, evolved schemas, empty tables
        view = f"__iceberg_{namespace}_{name}"
        cursor.register(view, arrow)
        cursor.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {view}")
        return False

    def _iceberg_write(
        self, cursor: duckdb.DuckDBPyConnection, stmt: Any
    ) -> pa.RecordBatchReader | None:
        """CTAS / INSERT INTO an Iceberg table: compute in DuckDB, commit with pyiceberg."""
        load_sqlglot()
        from sqlglot import exp

        if not self._has_catalog or not isinstance(
            stmt, exp.Create | exp.Insert | exp.Drop | exp.Update | exp.Delete | exp.Merge
        ):
            return None
        if isinstance(stmt, exp.Create) and (stmt.args.get("kind") or "").upper() == "TABLE":
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            query = stmt.expression
            if not isinstance(target, exp.Table) or not target.db or query is None:
                return None
            if not self._catalog.namespace_exists((target.db,)):
                return None
            result = cursor.sql(query.sql(dialect="duckdb")).to_arrow_table()
            ident = (target.db, target.name)
            replace = bool(stmt.args.get("replace"))
            exists = self._catalog.table_exists(ident)
            if exists and not replace and not stmt.args.get("exists"):
                raise QueryError(f"table {target.db}.{target.name} already exists")
            if exists and stmt.args.get("exists") and not replace:
                return _summary({"table": f"{target.db}.{target.name}", "rows": 0})
            if exists:
                table = self._catalog.load_table(ident)
                try:
                    result = result.cast(table.schema().as_arrow())
                except (ValueError, TypeError, KeyError, NotImplementedError):
                    # A different schema: replace the table itself (its history restarts).
                    self._catalog.drop_table(ident)
                    exists = False
                else:
                    table.overwrite(result)  # one atomic commit: readers see old or new
            if not exists:
                # Schema and data in one transaction: a failed CTAS leaves no empty table.
                txn = self._catalog.create_table_transaction(ident, schema=result.schema)
                txn.append(result)
                txn.commit_transaction()
            self._exposed.pop(f"{target.db}.{target.name}", None)
            return _summary({"table": f"{target.db}.{target.name}", "rows": result.num_rows})
        if isinstance(stmt, exp.Insert):
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            if not isinstance(target, exp.Table) or not target.db:
                return None
            ident = (target.db, target.name)
            if not self._catalog.table_exists(ident):
                return None
            result = cursor.sql(stmt.expression.sql(dialect="duckdb")).to_arrow_table()
            table = self._catalog.load_table(ident)
            try:
                arrow_schema = table.schema().as_arrow()
                result = result.rename_columns(arrow_schema.names).cast(arrow_schema)
            except Exception as exc:
                raise QueryError(
                    f"INSERT INTO {target.db}.{target.name}: the SELECT does "
                    f"not match the table's columns ({type(exc).__name__})"
                ) from None
            if stmt.args.get("overwrite"):
                table.overwrite(result)
            else:
                table.append(result)
            self._exposed.pop(f"{target.db}.{target.name}", None)
            return _summary({"table": f"{target.db}.{target.name}", "rows": result.num_rows})
        if isinstance(stmt, exp.Drop) and (stmt.args.get("kind") or "").upper() == "TABLE":
            target = stmt.find(exp.Table)
            if isinstance(target, exp.Table) and target.db:
                ident = (target.db, target.name)
                if self._catalog.table_exists(ident):
                    self._catalog.drop_table(ident)
                    cursor.execute(f'DROP VIEW IF EXISTS "{target.db}"."{target.name}"')
                    self._exposed.pop(f"{target.db}.{target.name}", None)
                    return _summary({"dropped": f"{target.db}.{target.name}"})
                if not stmt.args.get("exists"):
                    raise QueryError(f"table {target.db}.{target.name} does not exist")
                return _summary({"dropped": None})
        if isinstance(stmt, exp.Update | exp.Delete | exp.Merge):
            target = stmt.this
            if (
                isinstance(target, exp.Table)
                and target.db
                and self._catalog.table_exists((target.db, target.name))
            ):
                raise QueryError(
                    "the embedded DuckDB engine cannot UPDATE/DELETE/MERGE Iceberg tables; "
                    "rewrite with CREATE OR REPLACE TABLE ... AS SELECT"
                )
        return None


def _relation(cursor: duckdb.DuckDBPyConnection, text: str) -> Any:
    """`cursor.sql()` streams Arrow without a copy but drops error positions; compile-time
    errors (parser, binder, catalog) fail before any work, so asking `execute()` again for
    the positioned message costs nothing."""
    import duckdb

    try:
        return cursor.sql(text)
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as exc:
        try:
            cursor.execute(text)
        except duckdb.Error as positioned:
            raise positioned from None
        raise exc from None


def _summary(values: dict[str, Any]) -> pa.RecordBatchReader:
    import pyarrow as pa

    table = pa.table({k: [v] for k, v in values.items()})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _local_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "" and uri.startswith("/"):
        return uri
    return None
