"""Job parameters: declared types, the check of a value against its type, and its SQL literal.

A parameter is a value, never SQL text: what a run supplies is checked against the job's
declared type when the run is triggered, and is written into SQL only as a literal (strings
quoted with their quotes doubled, identifiers double-quoted), so no value can end a
statement or start another.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from engine.errors import ValidationError
from engine.identifiers import IDENTIFIER, IDENTIFIER_RULE

TYPES = ("string", "int", "number", "date", "bool", "identifier")
_INT = re.compile(r"[+-]?\d{1,18}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LENGTH = 4096


def check_type(name: str, kind: object) -> str:
    """The type name if Sadeem knows it, else a ValidationError listing the known ones."""
    if kind not in TYPES:
        raise ValidationError(
            f"parameter {name!r} has unknown type {kind!r}; use one of {', '.join(TYPES)}",
            field="param_types",
        )
    return str(kind)


def declared_types(definition: dict[str, Any]) -> dict[str, str]:
    """Each declared parameter's type: as declared, else guessed from a typed default
    (a service caller's `{"n": 10}` is an int), else string."""
    types = dict(definition.get("param_types") or {})
    out: dict[str, str] = {}
    for name, default in (definition.get("params") or {}).items():
        if name in types:
            out[name] = types[name]
        elif isinstance(default, bool):
            out[name] = "bool"
        elif isinstance(default, int):
            out[name] = "int"
        elif isinstance(default, float):
            out[name] = "number"
        else:
            out[name] = "string"
    return out


def coerce(name: str, kind: str, value: Any) -> Any:
    """The value as its type (str, int, float, date text, bool), or one clear error line."""

    def refuse(expected: str) -> ValidationError:
        shown = repr(value) if len(str(value)) <= 40 else f"a {len(str(value))}-character text"
        return ValidationError(
            f"parameter {name!r} must be {expected}, got {shown}", field=f"params.{name}"
        )

    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise refuse("true or false")
    if isinstance(value, bool):
        raise refuse(f"a {kind}")
    if kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INT.fullmatch(value.strip()):
            return int(value)
        raise refuse("a whole number, e.g. 10")
    if kind == "number":
        if isinstance(value, int | float) and math.isfinite(value):
            return value
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            number = float(value)
            if math.isfinite(number):
                return int(value) if _INT.fullmatch(value.strip()) else number
        raise refuse("a number, e.g. 2.5")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_LENGTH:
        raise ValidationError(
            f"parameter {name!r} is longer than {MAX_LENGTH} characters", field=f"params.{name}"
        )
    if "\x00" in text:
        raise ValidationError(
            f"parameter {name!r} contains a NUL character", field=f"params.{name}"
        )
    if kind == "date":
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            date.fromisoformat(text)
        except ValueError:
            raise refuse("an ISO date, e.g. 2026-11-24") from None
        return text
    if kind == "identifier":
        if not IDENTIFIER.fullmatch(text):
            raise refuse(f"an identifier: it {IDENTIFIER_RULE}")
        return text
    return text


def check_values(
    definition: dict[str, Any], supplied: dict[str, Any] | None, job: str = "the job"
) -> dict[str, Any]:
    """The supplied values checked against the job's declared names and types (the caller
    stores what it was given; rendering checks again)."""
    types = declared_types(definition)
    supplied = supplied or {}
    unknown = sorted(set(supplied) - set(types))
    if unknown:
        raise ValidationError(
            f"job {job!r} has no parameter {unknown[0]!r}; it declares "
            f"{', '.join(sorted(types)) or 'none'}",
            field="parameters",
        )
    for name, value in supplied.items():
        coerce(name, types[name], value)
    return dict(supplied)


def sql_literal(name: str, kind: str, value: Any) -> str:
    """The value as SQL text that can only ever be one literal (or one quoted identifier)."""
    typed = coerce(name, kind, value)
    if kind == "bool":
        return "TRUE" if typed else "FALSE"
    if kind in ("int", "number"):
        return repr(typed)
    if kind == "date":
        return f"DATE '{typed}'"
    if kind == "identifier":
        return f'"{typed}"'
    return quote_string(typed)


def quote_string(text: str) -> str:
    """A standard SQL string literal: single quotes, embedded quotes doubled (DuckDB, Trino
    and PostgreSQL give a backslash no meaning in such a literal)."""
    return "'" + text.replace("'", "''") + "'"


def text_value(name: str, kind: str, value: Any) -> str:
    """The value as plain text (inside a quoted SQL string, or as a Spark argument)."""
    typed = coerce(name, kind, value)
    if kind == "bool":
        return "true" if typed else "false"
    return str(typed)
