"""Writing results to files: CSV, Parquet or JSON lines, batch by batch (large results
never need to fit in memory twice)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ValidationError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("csv", "parquet", "json")


def format_for(path: Path, explicit: str | None = None) -> str:
    fmt = explicit or path.suffix.lstrip(".").lower()
    fmt = {"jsonl": "json", "ndjson": "json", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ValidationError(
            f"cannot export {fmt or 'without an extension'}; use one of {', '.join(FORMATS)}",
            field="format",
        )
    return fmt


def write_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema | None, path: Path, fmt: str
) -> int:
    """Write batches to `path` (via a temp file, renamed at the end); returns rows written."""
    import pyarrow as pa

    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    rows = 0
    writer = None
    try:
        with open(tmp, "wb") as sink:
            for batch in batches:
                if writer is None:
                    writer = _open(fmt, sink, schema or batch.schema)
                writer.write(batch)
                rows += batch.num_rows
            if writer is None:  # no rows: still a valid file with the header/schema
                writer = _open(fmt, sink, schema or pa.schema([]))
            writer.close()
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def write_table(table: pa.Table, path: Path, fmt: str | None = None) -> int:
    return write_batches(table.to_batches(), table.schema, path, format_for(Path(path), fmt))


class _JsonLines:
    def __init__(self, sink) -> None:
        self.sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        import json

        for row in batch.to_pylist():
            self.sink.write(json.dumps(row, default=str).encode() + b"\n")

    def close(self) -> None:
        pass


def _open(fmt: str, sink, schema: pa.Schema):
    if fmt == "csv":
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(sink, schema)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(sink, schema)
    return _JsonLines(sink)
