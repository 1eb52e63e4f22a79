"""Printing results: aligned tables for people, JSON for scripts (`--json`).

Names, descriptions, errors and cell values come from users, jobs and backends: a table or
a record prints them through `plain` (engine/text.py), so no control sequence in them
reaches the terminal. JSON needs nothing more: `json.dump` writes every control character
as a `\\u` escape."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.text import plain


def to_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_data(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    json.dump(to_data(value), sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def _cell(value: Any) -> str:
    return plain(_text(value))


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def print_table(rows: Iterable[Any], columns: Sequence[str]) -> None:
    data = [
        [_cell(to_data(r).get(c) if not isinstance(r, dict) else r.get(c)) for c in columns]
        for r in rows
    ]
    headers = [plain(c.upper()) for c in columns]
    widths = [max([len(h)] + [len(row[i]) for row in data]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in data:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def print_record(record: Any) -> None:
    data = to_data(record)
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        print(f"{plain(key).ljust(width)}  {_cell(value)}")


def emit(cli: Any, value: Any, columns: Sequence[str] | None = None) -> None:
    """JSON with --json; else a table for lists (given columns) or key/value lines."""
    if cli.json:
        print_json(value)
    elif isinstance(value, list):
        print_table(value, columns or [])
    else:
        print_record(value)


def parse_assignments(items: Sequence[str] | None, option: str = "--set") -> dict[str, str]:
    """KEY=VALUE pairs from repeated options; a clear error for anything else."""
    from engine.errors import ValidationError

    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"expected KEY=VALUE, got {item!r}", field=option)
        out[key.strip()] = value
    return out
