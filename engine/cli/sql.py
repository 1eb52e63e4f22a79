"""`sadeem sql -w WS -e "..."`: run SQL in a workspace; Ctrl-C cancels it on the server."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sql", parents=[common], help="run SQL in a workspace")
    p.add_argument("-w", "--workspace", required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-e", "--execute", metavar="SQL", help="the statement")
    src.add_argument("-f", "--file", help="read the statement from a file ('-' = stdin)")
    src.add_argument("--history", action="store_true", help="your past statements here")
    p.add_argument("--connection", help="SQL connection (default: the workspace's)")
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"], default=None)
    p.add_argument("--output", "-o", help="write results to this file")
    p.add_argument(
        "--max-rows", type=int, default=1000, help="rows shown on screen (files get every row)"
    )
    p.add_argument("--search", help="with --history: only statements containing this")
    p.set_defaults(handler=run_sql)


def run_sql(cli) -> int:  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    from engine.cli.output import emit, print_json, print_table
    from engine.errors import QueryCancelled, ValidationError
    from engine.export import format_for, write_batches

    a = cli.args
    if a.history:
        rows = cli.services.sql.history(cli.actor, workspace=a.workspace, search=a.search)
        emit(cli, rows, ["id", "started_at", "state", "rows", "duration_ms", "sql"])
        return 0
    sql = a.execute
    if a.file:
        try:
            sql = sys.stdin.read() if a.file == "-" else Path(a.file).read_text()
        except OSError as exc:
            raise ValidationError(f"cannot read {a.file}: {exc.strerror}", "--file") from None
    query = cli.services.sql.execute(cli.actor, a.workspace, sql, connection=a.connection)
    try:
        if a.output:
            path = Path(a.output)
            fmt = format_for(path, a.format if a.format != "table" else None)
            rows = write_batches(query.batches(), None, path, fmt)
            emit(
                cli, {"rows": rows, "output": str(path), "format": fmt, "query_id": query.query_id}
            )
            return 0
        table = query.fetch(a.max_rows)
        more = table.num_rows == a.max_rows
        query.close()
        fmt = a.format or ("json" if cli.json else "table")
        if fmt == "json":
            print_json(
                {
                    "columns": table.column_names,
                    "rows": table.to_pylist(),
                    "truncated": more,
                    "query_id": query.query_id,
                }
            )
        elif fmt == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, sys.stdout.buffer)
        elif fmt == "parquet":
            raise ValidationError("parquet needs --output FILE", "--format")
        else:
            print_table(table.to_pylist(), table.column_names)
            note = f" (first {a.max_rows}; use --output for all)" if more else ""
            print(f"\n{table.num_rows} row(s){note} in {query.elapsed_s:.2f}s", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        query.cancel()
        raise QueryCancelled("cancelled by Ctrl-C; the query was stopped on the server") from None
