"""DuckDB, the embedded SQL engine: reads the workspace's Iceberg tables from the catalog
and writes `CREATE TABLE ... AS SELECT` / `INSERT INTO ... SELECT` results back as Iceberg
commits through pyiceberg (DuckDB cannot write an Iceberg catalog itself).

DuckDB's iceberg and httpfs extensions cannot be installed on an air-gapped machine, so an
Iceberg table is exposed as a view over `read_parquet()` of the data files pyiceberg plans
for the current snapshot; tables whose files are not local, that carry delete files or an
evolved schema are read as streams (engine.backends.iceberg_stream), and writes go to
storage batch by batch.

Each backend is a sandbox for one workspace: external access off, `allowed_directories` =
the workspace's storage prefix (where its Iceberg data files and raw files live) and a
private spill directory, no extension autoload or autoinstall, no Python replacement scans,
and the configuration locked once Sadeem's own settings are in. Every text is classified
first (engine.sql_analysis) and runs statement by statement as DuckDB's own parser split it,
so what runs is what was checked.
"""

from __future__ import annotations

import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from engine.backends.base import HealthResult, IcebergWriter, QueryContext, QueryProgress
from engine.backends.iceberg_stream import streaming_source, view_columns, write_stream
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.errors import (
    BackendError,
    CatalogUnavailable,
    DiskFull,
    PermissionDenied,
    QueryCancelled,
    QueryError,
    is_disk_full,
)
from engine.sql_analysis import Policy, check, footprint, load_sqlglot, local_root, path_refusal

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyiceberg.catalog import Catalog

BATCH_ROWS = 64 * 1024
# Cursors configured for progress reports before the configuration is locked (progress
# settings are per connection and cannot be set once it is). A query that finds none free
# runs on a plain cursor and reports no percentage.
PROGRESS_CURSORS = 8
_PROGRESS = (
    "SET enable_progress_bar=true",
    "SET enable_progress_bar_print=false",
    "SET progress_bar_time=0",
)
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
        self._cursor, self._pooled = backend._acquire()
        self._released = False
        self._cursor_lock = threading.Lock()  # cancel() never interrupts a reused cursor
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
        with self._cursor_lock:
            if not self._released:
                self._cursor.interrupt()

    def close(self) -> None:
        """Stop reading: the cursor goes back to the backend (a query left unread keeps it)."""
        self._release()

    def _release(self) -> None:
        with self._cursor_lock:
            if self._released:
                return
            self._released = True
        self._backend._give_back(self._cursor, self._pooled)

    def _start(self) -> pa.RecordBatchReader:
        with self._lock:
            if self._reader is None:
                if self._cancelled.is_set():
                    raise QueryCancelled()
                self._state = "RUNNING"
                self._report()
                try:
                    self._reader = self._backend._run(self._cursor, self._statements)
                except Exception as exc:
                    raise self._fail(exc) from None
            return self._reader

    def _fail(self, exc: Exception) -> Exception:
        import duckdb

        self._release()
        if self._cancelled.is_set() or isinstance(exc, duckdb.InterruptException):
            self._state = "CANCELLED"
            return QueryCancelled()
        self._state = "FAILED"
        if isinstance(exc, duckdb.PermissionException):
            return PermissionDenied(f"refused by the embedded engine's sandbox: {exc}")
        if isinstance(exc, QueryError | BackendError | PermissionDenied):
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
            self._release()
            raise
        except Exception as exc:
            raise self._fail(exc) from None
        self._state = "FINISHED"
        self._release()
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
        import pyarrow as pa

        sent = False
        while (batch := self._next(reader)) is not None:
            sent = True
            yield batch
        if not sent:  # no row: one empty batch carries the columns
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)

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
                    self._release()
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
        workspace_uri: str | None = None,
        workspace: str = "",
    ) -> None:
        import duckdb

        # A catalog, or a function giving one: loading pyiceberg costs ~0.3 s and ~60 MiB,
        # so it waits for the first statement that names a table.
        self._catalog_source = catalog
        self._has_catalog = catalog is not None
        if memory_limit and not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
            raise QueryError(f"memory_limit {memory_limit!r} is not like 4GB")
        # What SQL here may read: the workspace's storage prefix, nothing else (no prefix:
        # no files at all). The footprint check refuses other paths with a clear message;
        # DuckDB's own sandbox below holds even for what the check cannot see.
        self._policy = Policy(
            workspace,
            frozenset(),
            {},
            roots=(workspace_uri,) if workspace_uri else (),
            admin=True,
            sandbox_only=True,  # the services apply the user's rules (role, separation)
        )
        root = local_root(workspace_uri) if workspace_uri else None
        self._spill = tempfile.mkdtemp(prefix="sadeem-duckdb-")  # 0700, ours alone
        self._connection: duckdb.DuckDBPyConnection = duckdb.connect(
            database,
            config={
                "autoload_known_extensions": False,
                "autoinstall_known_extensions": False,
                "python_enable_replacements": False,  # no Python variable is a table
            },
        )
        con = self._connection
        if threads:
            con.execute(f"SET threads={int(threads)}")
        if memory_limit:
            con.execute(f"SET memory_limit='{memory_limit}'")
        con.execute(f"SET temp_directory={_literal(self._spill)}")
        con.execute(f"SET allowed_directories=[{_literal(root) if root else ''}]")
        con.execute("SET enable_external_access=false")
        self._cursors: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        for _ in range(PROGRESS_CURSORS):
            cursor = con.cursor()
            for setting in _PROGRESS:
                cursor.execute(setting)
            self._cursors.put(cursor)
        con.execute("SET lock_configuration=true")  # from here on no SET, RESET or PRAGMA
        self._exposed: dict[str, int | None] = {}  # table -> snapshot id exposed as a view
        self._sources: dict[str, Any] = {}  # table -> its stream, for the exposed snapshot
        # Names each pooled cursor registered (by id(cursor)), dropped when it comes back:
        # cheaper than asking DuckDB which temporary views it holds after every query.
        self._registered: dict[int, set[str]] = {}
        self._tables: dict[tuple[str, str], Any] = {}  # the Iceberg tables last loaded
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
        """Close the database and remove its spill directory (the backend pool calls this
        once nobody will use it again: the engine stops, or its connection changed)."""
        self._connection.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def warm(self, ctx: QueryContext) -> None:
        """Warmable: run a first statement, so the operator's first query does not pay for
        loading DuckDB and the SQL parser."""
        self.execute("SELECT 1", ctx, None).fetch()

    def _acquire(self) -> tuple[duckdb.DuckDBPyConnection, bool]:
        """A cursor for one query: a progress-reporting one if free, else a plain one."""
        try:
            return self._cursors.get_nowait(), True
        except queue.Empty:
            return self._connection.cursor(), False

    def _give_back(self, cursor: duckdb.DuckDBPyConnection, pooled: bool) -> None:
        import duckdb

        try:
            with self._lock:
                names = self._registered.pop(id(cursor), set())
            if pooled:
                for name in names:
                    cursor.unregister(name)
                self._cursors.put(cursor)
            else:
                cursor.close()
        except duckdb.Error:  # the backend was shut down meanwhile
            pass

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
        """Classify now (syntax errors and sandbox refusals raise here), run on the first
        batches()/fetch()."""
        fp = footprint(sql, "duckdb")
        check(fp, self._policy)  # the sandbox's rules hold for every caller, admins too
        if not fp.statements:
            raise QueryError("the statement is empty")
        return DuckDBQuery(self, list(fp.statements), sql, on_progress)

    # -- execution --------------------------------------------------------------------------

    def _run(
        self, cursor: duckdb.DuckDBPyConnection, statements: list[Any]
    ) -> pa.RecordBatchReader:
        """Run every statement, each as DuckDB split it; the last one's result is the
        query's result. An earlier one's result is closed before the next starts: DuckDB
        refuses a statement while the cursor holds an open result ("Resource In Use").
        (The services hand scripts over one statement at a time; see SqlService.script.)"""
        reader = None
        for i, statement in enumerate(statements):
            if reader is not None:
                reader.close()
            stmt = statement.tree  # None where sqlglot could not read it (admins only)
            if stmt is not None:
                self._expose_tables(cursor, stmt)
                written = self._iceberg_write(cursor, stmt)
                if written is not None:
                    reader = written
                    continue
            rel = _relation(cursor, statement.text)
            if rel is None:
                reader = _summary({"statement": i + 1, "status": "ok"})
            else:
                reader = rel.to_arrow_reader(BATCH_ROWS)
        assert reader is not None
        return reader

    def _table_root(self, ident: tuple[str, str]) -> str | None:
        """Where the table's files go (an existing table's location, else the catalog's
        default for a new one); None when the catalog cannot say."""
        try:
            if self._catalog.table_exists(ident):
                return str(self._catalog.load_table(ident).location())
            resolve = self._catalog._resolve_table_location  # type: ignore[attr-defined]
            return str(resolve(None, ident[0], ident[1]))
        except Exception:  # a catalog without pyiceberg's default-location helper
            return None

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
                table = self._load_table((namespace, name))
            except CatalogUnavailable:
                raise  # the catalog itself is refused: say so, not "table does not exist"
            except Exception:
                # Not an Iceberg table (DuckDB reports it if it does not exist), or one
                # dropped since it was exposed: its view must not serve the old files.
                with self._lock:
                    self._sources.pop(ident, None)
                    if self._exposed.pop(ident, "none") != "none":
                        cursor.execute(f'DROP VIEW IF EXISTS "{namespace}"."{name}"')
                continue
            snapshot = table.current_snapshot()
            snap_id = snapshot.snapshot_id if snapshot else None
            with self._lock:
                if self._exposed.get(ident, "none") != snap_id:
                    self._expose(cursor, table, namespace, name)
                    self._exposed[ident] = snap_id
                source = self._sources.get(ident)
            if source is not None:
                # The view every cursor shares reads a name each cursor registers itself
                # (DuckDB keeps registered objects per cursor); the source opens a fresh
                # stream per scan, so a repeated query reads again, planned once.
                cursor.register(_source_view(namespace, name), source)
                with self._lock:  # unregistered when the cursor goes back to the pool
                    self._registered.setdefault(id(cursor), set()).add(
                        _source_view(namespace, name)
                    )

    def _load_table(self, ident: tuple[str, str]) -> Any:
        """The table as the catalog has it now. A SQL catalog says in one small query
        whether its metadata file moved; when it did not, the table read last time is
        still the table (a metadata file is never rewritten), which spares re-reading and
        parsing it on every statement (most of a query's overhead on a small table)."""
        location = _metadata_location(self._catalog, ident)
        with self._lock:
            cached = self._tables.get(ident)
        if location is not None and cached is not None and cached.metadata_location == location:
            return cached
        table = self._catalog.load_table(ident)
        with self._lock:
            self._tables[ident] = table
        return table

    def _own_file(self, table: str, uri: str) -> None:
        """Refuse a table whose data lies outside the workspace's prefix: the sandbox reads
        only this workspace's files, whoever asks (pyiceberg reading it for DuckDB too)."""
        path = _local_path(uri) or uri
        if path_refusal(path, self._policy.roots) is not None:
            raise PermissionDenied(
                f"refused by the file rule: table {table} has data files outside this "
                "workspace's storage prefix; the embedded engine reads only its own "
                "workspace's files (see `sadeem workspace check`)"
            )

    def _expose(
        self, cursor: duckdb.DuckDBPyConnection, table: Any, namespace: str, name: str
    ) -> None:
        """Create the view `namespace.name` over the current snapshot. Local files without
        deletes or schema changes: DuckDB's own `read_parquet` (a view every cursor reads).
        Anything else (remote files, deletes, evolved schemas): a stream pyiceberg reads one
        batch at a time, kept per snapshot and registered on each cursor that needs it."""
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"')
        target = f'"{namespace}"."{name}"'
        tasks = list(table.scan().plan_files())
        for task in tasks:
            # Delete files are read for the reader too: held to the prefix like data files.
            for path in (task.file.file_path, *(d.file_path for d in task.delete_files)):
                self._own_file(f"{namespace}.{name}", path)
        files = [_local_path(t.file.file_path) for t in tasks]
        plain = not any(t.delete_files for t in tasks) and len(table.schemas()) == 1
        if tasks and all(files) and plain:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files if f)
            cursor.execute(
                f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM read_parquet([{listing}])"
            )
            self._sources.pop(f"{namespace}.{name}", None)
            return
        source = streaming_source(table, tasks, plain)
        view = _source_view(namespace, name)
        self._sources[f"{namespace}.{name}"] = source
        cursor.register(view, source)
        cursor.execute(
            f"CREATE OR REPLACE VIEW {target} AS SELECT {view_columns(source)} FROM {_ident(view)}"
        )

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
        kind = (stmt.args.get("kind") or "").upper()
        if isinstance(stmt, exp.Create | exp.Drop) and kind == "VIEW":
            view = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            view = view if isinstance(view, exp.Table) else stmt.find(exp.Table)
            if isinstance(view, exp.Table) and view.db:
                if self._catalog.table_exists((view.db, view.name)):
                    # A view of that name would hide the table from every member.
                    raise QueryError(f"{view.db}.{view.name} is an Iceberg table, not a view")
                if isinstance(stmt, exp.Create) and self._catalog.namespace_exists((view.db,)):
                    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(view.db)}")
            return None
        if isinstance(stmt, exp.Create) and (stmt.args.get("kind") or "").upper() == "TABLE":
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            query = stmt.expression
            if not isinstance(target, exp.Table) or not target.db or query is None:
                return None
            if not self._catalog.namespace_exists((target.db,)):
                return None
            rel = cursor.sql(query.sql(dialect="duckdb"))  # bound now: errors before writing
            ident = (target.db, target.name)
            replace = bool(stmt.args.get("replace"))
            exists = self._catalog.table_exists(ident)
            if exists and not replace and not stmt.args.get("exists"):
                raise QueryError(f"table {target.db}.{target.name} already exists")
            if exists and stmt.args.get("exists") and not replace:
                return _summary({"table": f"{target.db}.{target.name}", "rows": 0})
            reader = rel.to_arrow_reader(BATCH_ROWS)
            with _no_partial_files(self._table_root(ident), f"writing {target.db}.{target.name}"):
                if exists:
                    table = self._catalog.load_table(ident)
                    arrow_schema = table.schema().as_arrow()
                    if _fits(reader.schema, arrow_schema):
                        # One atomic commit: readers see the old rows or the new ones.
                        txn = table.transaction()
                        rows = write_stream(txn, table.io, reader, arrow_schema, overwrite=True)
                        txn.commit_transaction()
                    else:
                        # A different schema: replace the table itself (its history restarts).
                        self._catalog.drop_table(ident)
                        exists = False
                if not exists:
                    # Schema and data in one transaction: a failed CTAS leaves no empty table.
                    txn = self._catalog.create_table_transaction(ident, schema=reader.schema)
                    # pyiceberg 0.12 gives a staged table's FileIO no public name.
                    io = txn._table.io
                    rows = write_stream(txn, io, reader, reader.schema, overwrite=False)
                    txn.commit_transaction()
            self._exposed.pop(f"{target.db}.{target.name}", None)
            return _summary({"table": f"{target.db}.{target.name}", "rows": rows})
        if isinstance(stmt, exp.Insert):
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            if not isinstance(target, exp.Table) or not target.db:
                return None
            ident = (target.db, target.name)
            if not self._catalog.table_exists(ident):
                return None
            rel = cursor.sql(stmt.expression.sql(dialect="duckdb"))
            table = self._catalog.load_table(ident)
            arrow_schema = table.schema().as_arrow()
            reader = rel.to_arrow_reader(BATCH_ROWS)
            if not _fits(reader.schema, arrow_schema, by_position=True):
                raise QueryError(
                    f"INSERT INTO {target.db}.{target.name}: the SELECT does "
                    "not match the table's columns"
                )
            with _no_partial_files(table.location(), f"writing {target.db}.{target.name}"):
                txn = table.transaction()
                overwrite = bool(stmt.args.get("overwrite"))
                rows = write_stream(txn, table.io, reader, arrow_schema, overwrite=overwrite)
                txn.commit_transaction()
            self._exposed.pop(f"{target.db}.{target.name}", None)
            return _summary({"table": f"{target.db}.{target.name}", "rows": rows})
        if isinstance(stmt, exp.Drop) and (stmt.args.get("kind") or "").upper() == "TABLE":
            target = stmt.find(exp.Table)
            if isinstance(target, exp.Table) and target.db:
                ident = (target.db, target.name)
                if self._catalog.table_exists(ident):
                    self._catalog.drop_table(ident)
                    cursor.execute(f'DROP VIEW IF EXISTS "{target.db}"."{target.name}"')
                    self._exposed.pop(f"{target.db}.{target.name}", None)
                    self._sources.pop(f"{target.db}.{target.name}", None)
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


def _fits(source: pa.Schema, target: pa.Schema, by_position: bool = False) -> bool:
    """Whether rows of `source` cast to `target` (the check a streamed write makes before
    its first file: a mismatch found midway would waste the files written so far)."""
    import pyarrow as pa

    try:
        empty = pa.Table.from_batches([], schema=source)
        if by_position:
            empty = empty.rename_columns(target.names)
        empty.cast(target)
    except (ValueError, TypeError, KeyError, NotImplementedError, pa.ArrowException):
        return False
    return True


def _metadata_location(catalog: Any, ident: tuple[str, str]) -> str | None:
    """Where a SQL catalog's row says the table's metadata is; None when the catalog is
    not one (a REST catalog answers only with the whole table) or cannot say."""
    # Not imported: the catalog is not a SqlCatalog (importing it to ask would load
    # SQLAlchemy, ~0.3-0.8 s, into a REST workspace's first query).
    sql_module = sys.modules.get("pyiceberg.catalog.sql")
    if sql_module is None or not isinstance(catalog, sql_module.SqlCatalog):
        return None
    from sqlalchemy import text

    try:
        with catalog.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = :c "
                    "AND table_namespace = :n AND table_name = :t"
                ),
                {"c": catalog.name, "n": ident[0], "t": ident[1]},
            ).scalar()
    except Exception:  # then load_table decides, and says what is wrong
        return None


def _source_view(namespace: str, name: str) -> str:
    return f"__iceberg_{namespace}_{name}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _summary(values: dict[str, Any]) -> pa.RecordBatchReader:
    import pyarrow as pa

    table = pa.table({k: [v] for k, v in values.items()})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


@contextmanager
def _no_partial_files(root_uri: str | None, what: str) -> Iterator[None]:
    """On a failed write, remove the files (and directories) it created under a local table
    root: a CTAS that fails on a full disk must not leave data files keeping it full.
    Object stores are not swept (their multipart writes are not left as visible objects)."""
    root = _local_path(root_uri) if root_uri else None
    before = _tree(root) if root else set()
    try:
        yield
    except BaseException as exc:
        if root:
            created = _tree(root) - before
            for path in sorted(created, key=lambda p: len(p.parts), reverse=True):
                # A directory someone else wrote into since stays.
                with suppress(OSError):
                    path.rmdir() if path.is_dir() else path.unlink()
        if is_disk_full(exc):
            raise DiskFull(what) from None
        raise


def _tree(root: str) -> set[Path]:
    """Every file and directory under `root` (itself included), or nothing if it is absent."""
    base = Path(root)
    if not base.exists():
        return set()
    return {base, *base.rglob("*")}


def _local_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "" and uri.startswith("/"):
        return uri
    return None


def _build(config: dict[str, Any], inputs: BuildInputs) -> DuckDBBackend:
    # Reads and writes the workspace's catalog when that catalog lets an in-process engine
    # commit Iceberg tables; pyiceberg loads with the first statement that names a table.
    catalog = (
        inputs.catalog.pyiceberg_catalog if isinstance(inputs.catalog, IcebergWriter) else None
    )
    return DuckDBBackend(
        catalog=catalog,
        threads=config.get("threads"),
        memory_limit=config.get("memory_limit"),
        workspace=inputs.workspace,
        workspace_uri=inputs.workspace_uri,  # the only files its SQL may read
    )


KIND = register(
    Kind(
        "duckdb",
        "sql",
        (
            Field("threads", "int", minimum=1, maximum=1024),
            Field("memory_limit", help="e.g. 4GB"),
        ),
        _build,
        summary="DuckDB in the engine's process, over the workspace's catalog",
        dialect="duckdb",
        reads_catalog=True,
    )
)
