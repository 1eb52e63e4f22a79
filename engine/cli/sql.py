"""`sadeem sql -w WS -e "..."`: run SQL in a workspace; Ctrl-C cancels it on the server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from engine.cli.runtime import Cli
    from engine.services.sql import Script, TrackedQuery

from engine.cli.inputs import whole


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sql", parents=[common], help="run SQL in a workspace")
    p.add_argument("-w", "--workspace", required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "-e",
        "--execute",
        metavar="SQL",
        help="the statement, or a script of statements separated by `;`",
    )
    src.add_argument("-f", "--file", help="read the statement from a file ('-' = stdin)")
    src.add_argument("--history", action="store_true", help="your past statements here")
    p.add_argument("--connection", help="SQL connection (default: the workspace's)")
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"], default=None)
    p.add_argument("--output", "-o", help="write results to this file")
    p.add_argument(
        "--max-rows", type=whole(1), default=1000, help="rows shown on screen (files get every row)"
    )
    p.add_argument("--search", help="with --history: only statements containing this")
    p.set_defaults(handler=run_sql)


def run_sql(cli: Cli) -> int:
    from pathlib import Path

    from engine.cli.inputs import read_text
    from engine.cli.output import emit
    from engine.errors import QueryCancelled, ValidationError
    from engine.export import format_for

    a = cli.args
    if a.history:
        rows = cli.services.sql.history(cli.actor, workspace=a.workspace, search=a.search)
        emit(cli, rows, ["id", "started_at", "state", "rows", "duration_ms", "sql"])
        return 0
    sql = read_text(a.file, "--file") if a.file else a.execute
    if a.max_rows < 1:
        raise ValidationError("must be >= 1", "--max-rows")
    path: Path | None = None
    fmt_out: str | None = None
    if a.output:
        # Checked before the statement runs: a bad path must not cost a query (or a write).
        path = Path(a.output)
        fmt_out = format_for(path, a.format if a.format != "table" else None)
        if not path.parent.is_dir():
            raise ValidationError(f"directory {path.parent} does not exist", "--output")
        if path.is_dir():
            raise ValidationError(f"{path} is a directory", "--output")
    fmt = a.format or ("json" if cli.json else "table")
    if fmt == "parquet" and path is None:
        raise ValidationError("parquet needs --output FILE", "--format")
    script = cli.services.sql.script(cli.actor, a.workspace, sql, connection=a.connection)
    try:
        if path is not None and fmt_out is not None:
            return _to_file(cli, script, path, fmt_out)
        for query in script:
            _print(cli, query, fmt, a.max_rows)
        return 0
    except KeyboardInterrupt:
        script.cancel()
        raise QueryCancelled("cancelled by Ctrl-C; the query was stopped on the server") from None
    finally:
        script.close()


def _print(cli: Cli, query: TrackedQuery, fmt: str, max_rows: int) -> None:
    """One statement's result: a JSON line (`statement`, `sql`, `columns`, `rows`,
    `truncated`, `query_id`), CSV, or a table headed by the statement in a script."""
    import sys

    from engine.cli.output import print_table, to_data
    from engine.text import one_line, plain

    where = query.where
    table = query.fetch(max_rows)
    more = table.num_rows == max_rows
    query.close()
    many = where is not None and where.count > 1
    if fmt == "json":
        import json

        line = {
            "statement": where.index if where else 1,
            "sql": where.sql if where else None,
            "columns": table.column_names,
            "rows": table.to_pylist(),
            "truncated": more,
            "query_id": query.query_id,
        }
        print(json.dumps(to_data(line), default=str))
        return
    if fmt == "csv":
        import pyarrow.csv as pcsv

        if many and where is not None and where.index > 1:
            sys.stdout.write("\n")  # CSV blocks of a script, a blank line apart
        sys.stdout.flush()
        pcsv.write_csv(table, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    if many and where is not None:
        print(
            ("\n" if where.index > 1 else "")
            + f"-- {where.label}: {plain(one_line(where.sql, 100))}"
        )
    print_table(table.to_pylist(), table.column_names)
    note = f" (first {max_rows}; use --output for all)" if more else ""
    print(f"\n{table.num_rows} row(s){note} in {query.elapsed_s:.2f}s", file=sys.stderr)


def _to_file(cli: Cli, script: Script, path: Path, fmt: str) -> int:
    """The last statement's result, every row, in the file; earlier statements of a
    script are read to their end and reported on stderr."""
    import sys

    from engine.cli.output import emit
    from engine.export import write_batches

    for query in script:
        where = query.where
        if where is not None and where.index < where.count:
            rows = sum(b.num_rows for b in query.batches())
            print(f"{where.label}: {rows} row(s), not written", file=sys.stderr)
            continue
        written = write_batches(query.batches(), None, path, fmt)
        emit(
            cli,
            {
                "rows": written,
                "output": str(path),
                "format": fmt,
                "query_id": query.query_id,
                "statements": len(script),
            },
        )
    return 0
