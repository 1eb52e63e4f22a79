"""Iceberg tables as Arrow streams for the embedded engine, in memory that does not grow
with the table: reads that DuckDB can scan again and again, and writes that go to storage
batch by batch in one commit, leaving no file behind when they fail.

Why not DuckDB's own httpfs/iceberg extensions: the installed DuckDB (2.x) has no matching
extension wheels (they stop at 1.5.5), an air-gapped site cannot download them, and the
workspace sandbox turns external access off, which is what httpfs needs; pyiceberg already
holds the workspace's storage credentials and reads only the files it planned (each one
checked against the workspace prefix before it is read).

Uses pyiceberg 0.12 internals where no public API streams in bounded memory:
`ArrowScan._record_batches_from_scan_tasks_and_deletes` (its public `to_record_batches`
reads every file of the scan at once in a thread pool, each into a list), its Parquet
format writer, `_to_requested_schema` and `WriteTask` names for data files written row
group by row group (the public `append` of a stream holds 512 MiB of Arrow per file), and
`_dataframe_to_data_files` for partitioned tables.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from contextlib import suppress
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow as pa

# The first column of a remote table's dataset: in no file, so pyarrow makes it of nulls
# without reading anything. DuckDB asks an Arrow source for its first column when a query
# needs none (`count(*)`); given this one, it reads footers only, not a column of every file.
# The table's view leaves it out.
ROWS_COLUMN = "__sadeem_rows"

# A write hands rows to the Parquet writer in row groups of about this much Arrow; one
# fills from DuckDB while the previous one is encoded, so a write holds about twice this.
ROW_GROUP_BYTES = 8 * 1024 * 1024
# Arrow per data file: None is the table's `write.target-file-size-bytes` (pyiceberg's
# default 512 MiB, measured as pyiceberg does, in Arrow bytes).
FILE_BYTES: int | None = None
# A partitioned table's rows are split by pyiceberg's writer, this much Arrow at a time.
PARTITIONED_CHUNK_BYTES = 96 * 1024 * 1024


class IcebergStream:
    """A snapshot's planned files as an Arrow stream source. DuckDB asks for a new stream
    (`__arrow_c_stream__`) on every scan, so one source serves repeated queries and every
    cursor; each stream reads one file's batches at a time, applying deletes and mapping
    old files to the current schema (pyiceberg's reader)."""

    def __init__(self, table: Any, tasks: list[Any]) -> None:
        from pyiceberg.expressions import AlwaysTrue
        from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow

        self._io = table.io
        self._tasks = tasks
        self._scan = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
        self.schema = schema_to_pyarrow(table.schema())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        from pyiceberg.io.pyarrow import _read_all_delete_files

        deletes = _read_all_delete_files(self._io, self._tasks)  # positions only: small
        for task in self._tasks:
            yield from self._scan._record_batches_from_scan_tasks_and_deletes([task], deletes)

    def reader(self) -> pa.RecordBatchReader:
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(self.schema, self._batches()).cast(self.schema)

    def __arrow_c_schema__(self) -> Any:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.reader().__arrow_c_stream__(requested_schema)


def streaming_source(table: Any, tasks: list[Any], plain: bool) -> Any:
    """What DuckDB scans for a table it cannot read with `read_parquet`. Plain remote files
    (no deletes, one schema) become a pyarrow dataset: DuckDB pushes its projection and
    filters into it, so `count(*)` reads footers, not columns. Otherwise a stream."""
    import pyarrow as pa

    if not tasks:
        return pa.Table.from_batches([], IcebergStream(table, tasks).schema)
    fs = _filesystem(table.io, tasks[0].file.file_path) if plain else None
    if fs is None:
        return IcebergStream(table, tasks)
    import pyarrow.dataset as ds

    parquet = ds.ParquetFileFormat()
    # Sizes from the manifests: no request per file before the scan reads its footer.
    fragments = [
        parquet.make_fragment(_fs_path(t.file.file_path), fs, file_size=t.file.file_size_in_bytes)
        for t in tasks
    ]
    schema = fragments[0].physical_schema  # one schema (checked above): the first file's
    if ROWS_COLUMN not in schema.names:
        schema = pa.schema([_rows_field(), *schema], schema.metadata)
    return _lean_dataset_class()(fragments, schema, parquet, fs)


def view_columns(source: Any) -> str:
    """The select list of a table's view over its source: every column but ROWS_COLUMN."""
    import pyarrow as pa

    schema = getattr(source, "schema", None)
    if (
        isinstance(schema, pa.Schema)
        and len(schema) > 1
        and schema.field(0).equals(_rows_field(), check_metadata=True)
    ):
        return f'* EXCLUDE ("{ROWS_COLUMN}")'
    return "*"


@cache
def _rows_field() -> pa.Field:
    import pyarrow as pa

    return pa.field(ROWS_COLUMN, pa.null(), metadata={b"sadeem": b"row count only"})


@cache  # one class, made on first use: pyarrow.dataset loads lazily
def _lean_dataset_class() -> type:
    """A pyarrow dataset whose scans read one file, one batch ahead (pyarrow's defaults read
    four files and sixteen batches ahead: with 1M-row row groups, about 1 GB for a 6M-row
    table). DuckDB calls `scanner(columns=, filter=)` of the dataset's own class, so the
    subclass keeps its projection and filter pushdown."""
    import pyarrow.dataset as ds

    class LeanDataset(ds.FileSystemDataset):
        def scanner(self, columns: Any = None, filter: Any = None, **_: Any) -> Any:
            return super().scanner(
                columns=columns,
                filter=filter,
                batch_size=64 * 1024,
                batch_readahead=1,
                # No column (count(*)): only footers are read (small), so read many at once.
                fragment_readahead=32 if columns in ([], [ROWS_COLUMN]) else 1,
                fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
            )

    return LeanDataset


def _filesystem(io: Any, uri: str) -> Any:
    """pyiceberg's pyarrow filesystem for the URI (with the catalog's credentials), or
    None when the table's FileIO is not pyarrow's."""
    from pyiceberg.io.pyarrow import PyArrowFileIO

    if not isinstance(io, PyArrowFileIO):
        return None
    parsed = urlparse(uri)
    return io.fs_by_scheme(parsed.scheme, parsed.netloc)


def _fs_path(uri: str) -> str:
    parsed = urlparse(uri)
    return f"{parsed.netloc}{parsed.path}" if parsed.netloc else parsed.path


# -- writes ---------------------------------------------------------------------------------


def write_stream(
    txn: Any, io: Any, reader: pa.RecordBatchReader, schema: pa.Schema, *, overwrite: bool
) -> int:
    """Write the reader's batches as data files of one snapshot in `txn` (committed by the
    caller), cast to `schema`. An unpartitioned table's rows go to an open Parquet file one
    row group at a time (ROW_GROUP_BYTES of Arrow), a new file once one holds the table's
    target size: memory is two row groups, however large the file. A partitioned table's
    go through pyiceberg's writer in chunks of PARTITIONED_CHUNK_BYTES. On any failure
    every file this write created (data files, and manifests of a failed commit: all carry
    its commit id) is deleted, whatever the storage. Returns the rows written."""
    from pyiceberg.expressions import AlwaysTrue

    if overwrite:
        txn.delete(AlwaysTrue())
    snapshot = txn.update_snapshot().fast_append()
    uuid = snapshot.commit_uuid
    metadata = txn.table_metadata
    sink = (
        _RollingFiles(metadata, io, uuid, schema)
        if metadata.spec().is_unpartitioned()
        else _PartitionedFiles(metadata, io, uuid)
    )
    chunk_bytes = ROW_GROUP_BYTES if isinstance(sink, _RollingFiles) else PARTITIONED_CHUNK_BYTES
    # One chunk is written on a thread while the next one is read from DuckDB; a full
    # chunk waits until the writer is free, so no more than two are alive at once.
    todo: queue.Queue[pa.Table | None] = queue.Queue(maxsize=1)
    free = threading.Semaphore(1)
    failed: list[BaseException] = []

    def writer() -> None:
        while (chunk := todo.get()) is not None:
            if not failed:  # else drain: the reader side is told below
                try:
                    sink.write(chunk)
                except BaseException as exc:  # handed to the reading side
                    failed.append(exc)
            del chunk  # its buffers go back before the next chunk is handed over
            free.release()
        if not failed:
            try:
                sink.finish()
            except BaseException as exc:
                failed.append(exc)

    thread = threading.Thread(target=writer, name="iceberg-write", daemon=True)
    thread.start()
    rows = 0
    try:
        try:
            pending: list[pa.RecordBatch] = []
            size = 0
            for batch in _batches(reader):
                if failed:
                    break
                pending.append(batch)
                size += batch.nbytes
                rows += batch.num_rows
                if size >= chunk_bytes:
                    free.acquire()
                    todo.put(_chunk(pending, reader.schema, schema))
                    pending, size = [], 0
            if pending and not failed:
                free.acquire()
                todo.put(_chunk(pending, reader.schema, schema))
            pending = []
        finally:
            todo.put(None)
            thread.join()
        if failed:
            raise failed[0]
        for data_file in sink.data_files:
            snapshot.append_data_file(data_file)
        snapshot.commit()
        return rows
    except BaseException:
        sink.abort()
        _remove_written(io, metadata, uuid, sink.paths)
        raise


class _RollingFiles:
    """Data files of an unpartitioned table written as the rows come: each chunk is one
    row group of the open file (pyiceberg's field ids and statistics, as its own writer
    makes them); once a file holds the table's `write.target-file-size-bytes` of Arrow
    (pyiceberg's measure of a file), it is closed and the next chunk starts another."""

    def __init__(self, metadata: Any, io: Any, uuid: Any, arrow_schema: pa.Schema) -> None:
        from pyiceberg.io.fileformat import FileFormatFactory
        from pyiceberg.io.pyarrow import pyarrow_to_schema, sanitize_column_names
        from pyiceberg.manifest import FileFormat
        from pyiceberg.table import DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE, TableProperties
        from pyiceberg.table.locations import load_location_provider
        from pyiceberg.utils.config import Config
        from pyiceberg.utils.properties import property_as_int

        self._metadata = metadata
        self._io = io
        self._uuid = uuid
        props = metadata.properties
        self._format = FileFormat(
            props.get(TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT)
        )
        self._model = FileFormatFactory.get(self._format)
        self._locations = load_location_provider(metadata.location, props)
        table_schema = metadata.schema()
        self._file_schema = sanitize_column_names(table_schema)
        self._downcast = Config().get_bool(DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE) or False
        self._task_schema = pyarrow_to_schema(
            arrow_schema,
            name_mapping=table_schema.name_mapping,
            downcast_ns_timestamp_to_us=self._downcast,
            format_version=metadata.format_version,
        )
        default = TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT
        self._target: int = (
            FILE_BYTES
            or property_as_int(props, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES, default)
            or default
        )
        self._counter = itertools.count(0)
        self._writer: Any = None
        self._output: Any = None
        self._path = ""
        self._bytes = 0
        self.paths: list[str] = []  # every file opened, for the clean-up of a failure
        self.data_files: list[Any] = []

    def write(self, chunk: pa.Table) -> None:
        import pyarrow as pa
        from pyiceberg.io.pyarrow import _to_requested_schema

        if self._writer is None:
            self._open()
        table = pa.Table.from_batches(
            [
                _to_requested_schema(
                    requested_schema=self._file_schema,
                    file_schema=self._task_schema,
                    batch=batch,
                    downcast_ns_timestamp_to_us=self._downcast,
                    include_field_ids=True,
                    format_model=self._model,
                )
                for batch in chunk.to_batches()
            ]
        )
        self._writer.write(table)
        self._bytes += chunk.nbytes
        if self._bytes >= self._target:
            self._close()

    def finish(self) -> None:
        if self._writer is not None:
            self._close()

    def abort(self) -> None:
        """Close an open file (so no upload completes later), to be deleted by the caller."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(Exception):
                writer.close()

    def _open(self) -> None:
        from pyiceberg.table import WriteTask

        name = WriteTask(
            write_uuid=self._uuid,
            task_id=next(self._counter),
            schema=self._task_schema,
            record_batches=[],
        ).generate_data_file_filename(self._model.file_extension())
        self._path = self._locations.new_data_location(data_file_name=name)
        self.paths.append(self._path)
        self._output = self._io.new_output(self._path)
        self._writer = self._model.create_writer(
            self._output, self._file_schema, self._metadata.properties
        )
        self._bytes = 0

    def _close(self) -> None:
        from pyiceberg.manifest import DataFile, DataFileContent
        from pyiceberg.typedef import Record

        writer, self._writer = self._writer, None
        statistics = writer.close()
        self.data_files.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=self._path,
                file_format=self._format,
                partition=Record(),
                file_size_in_bytes=len(self._output),
                sort_order_id=None,
                spec_id=self._metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **statistics.to_serialized_dict(),
            )
        )


class _PartitionedFiles:
    """A partitioned table's chunks through pyiceberg's own writer (it splits them by
    partition), each chunk into its own files."""

    def __init__(self, metadata: Any, io: Any, uuid: Any) -> None:
        self._metadata = metadata
        self._io = io
        self._uuid = uuid
        self._counter = itertools.count(0)
        self.paths: list[str] = []
        self.data_files: list[Any] = []

    def write(self, chunk: pa.Table) -> None:
        from pyiceberg.io.pyarrow import _dataframe_to_data_files

        for data_file in _dataframe_to_data_files(
            table_metadata=self._metadata,
            df=chunk,
            io=self._io,
            write_uuid=self._uuid,
            counter=self._counter,
        ):
            self.paths.append(data_file.file_path)
            self.data_files.append(data_file)

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _chunk(batches: list[pa.RecordBatch], source: pa.Schema, target: pa.Schema) -> pa.Table:
    import pyarrow as pa

    table = pa.Table.from_batches(batches, schema=source)
    return table.rename_columns(target.names).cast(target)


def _remove_written(io: Any, metadata: Any, uuid: Any, written: list[str]) -> None:
    """Delete the files of a failed write: those it reported, and any other file under the
    table's location named with its commit id (a data file cut off midway, whose upload an
    S3 stream completes on close; the manifests of a commit the catalog refused)."""
    for path in written:
        with suppress(Exception):
            io.delete(path)
    location = metadata.location
    fs = _filesystem(io, location)
    if fs is None:
        return
    from pyarrow.fs import FileSelector, FileType

    with suppress(Exception):
        infos = fs.get_file_info(FileSelector(_fs_path(location), recursive=True))
        for info in infos:
            if info.type == FileType.File and str(uuid) in info.base_name:
                with suppress(Exception):
                    fs.delete_file(info.path)
