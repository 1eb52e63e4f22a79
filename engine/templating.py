"""Job templates: `{{ workspace }}`, `{{ ds }}`, `{{ run_id }}` and `{{ params.x }}`.

Deliberately tiny (no expressions, no filters): a template either names a known variable
or is refused with the variable's name, before anything runs.

In SQL a template is a value, never SQL text (see engine.parameters). Where it stands
decides how it is written, so no value can end the token around it:
- in code: a literal (`'text'` with quotes doubled, `10`, `DATE '2026-11-24'`, `TRUE`,
  `"identifier"`); `{{ workspace }}` is the workspace's validated name as written, so
  `{{ workspace }}_gold.t` keeps working;
- inside a quoted string `'...{{ x }}...'` or identifier `"...{{ x }}..."`: the value's text
  with that quote doubled, so the author's quotes stay the only ones;
- inside a comment: left as written (a value there could end the comment);
- inside an E'...' string or a $$...$$ string, or after a nested /* (dialects disagree on
  where those end): refused, at job save and again at run time.
"""

from __future__ import annotations

import re
from typing import Any

from engine import parameters as p
from engine.errors import ValidationError
from engine.identifiers import check_identifier

_VAR = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
BUILTINS = ("workspace", "ds", "run_id")

# Where a template stands in SQL text.
CODE, SQUOTE, DQUOTE, COMMENT = "code", "squote", "dquote", "comment"


def variables(text: str) -> set[str]:
    return set(_VAR.findall(text))


def sql_contexts(sql: str) -> list[tuple[re.Match[str], str]]:
    """Each template of the SQL with where it stands, or a ValidationError for a place
    where no quoting is safe. A small lexer: strings, identifiers, comments, dollar quotes."""
    out: list[tuple[re.Match[str], str]] = []
    refused: str | None = None
    state, depth, tag, i, n = CODE, 0, "", 0, len(sql)
    while i < n:
        m = _VAR.match(sql, i) if sql.startswith("{{", i) else None
        if m:
            if state in ("estring", "dollar"):
                raise ValidationError(
                    f"{m.group(0)} stands inside an "
                    + ("E'...' string" if state == "estring" else "$$...$$ string")
                    + "; write it outside the string (it renders as a quoted literal)",
                    field="sql",
                )
            out.append((m, COMMENT if state in ("line", "block") else state))
            i = m.end()
            continue
        c, nxt = sql[i], sql[i + 1 : i + 2]
        if state == CODE:
            if c == "-" and nxt == "-":
                state, i = "line", i + 2
                continue
            if c == "/" and nxt == "*":
                state, depth, i = "block", 1, i + 2
                continue
            if c == "'":
                prev = sql[i - 1 : i]
                before = sql[i - 2 : i - 1]
                escaped = prev in ("e", "E") and not (before.isalnum() or before == "_")
                state = "estring" if escaped else SQUOTE
            elif c == '"':
                state = DQUOTE
            elif c == "$" and not (sql[i - 1 : i].isalnum() or sql[i - 1 : i] == "_"):
                d = _DOLLAR.match(sql, i)
                if d:
                    state, tag, i = "dollar", d.group(0), d.end()
                    continue
        elif state in (SQUOTE, "estring"):
            if state == "estring" and c == "\\":
                i += 2
                continue
            if c == "'":
                if nxt == "'":
                    i += 2
                    continue
                state = CODE
        elif state == DQUOTE:
            if c == '"':
                if nxt == '"':
                    i += 2
                    continue
                state = CODE
        elif state == "line":
            if c in "\n\r":  # DuckDB (PostgreSQL's lexer) ends `--` at either
                state = CODE
        elif state == "block":
            if c == "/" and nxt == "*":
                depth, i = depth + 1, i + 2
                refused = "a nested /* comment"
                continue
            if c == "*" and nxt == "/":
                depth, i = depth - 1, i + 2
                if depth == 0:
                    state = CODE
                continue
        elif state == "dollar" and sql.startswith(tag, i):
            state, i = CODE, i + len(tag)
            continue
        i += 1
    if refused and out:
        raise ValidationError(
            f"the SQL has {refused}, so where its templates stand is ambiguous; "
            "remove the nested comment",
            field="sql",
        )
    return out


def _lookup(
    name: str, values: dict[str, Any], params: dict[str, Any], types: dict[str, str]
) -> tuple[str, Any]:
    """(type, value) of one template variable, or a ValidationError naming it."""
    if name.startswith("params."):
        key = name[len("params.") :]
        if key not in params:
            raise ValidationError(
                f"the template uses {{{{ {name} }}}} but the run has no parameter {key!r}",
                field="params",
            )
        return types.get(key, "string"), params[key]
    if name not in values:
        known = ", ".join(sorted(values)) + ", params.NAME"
        raise ValidationError(f"unknown template variable {name!r}; known: {known}", field="sql")
    kind = {"workspace": "identifier", "ds": "date", "run_id": "int"}.get(name, "string")
    return kind, values[name]


def render_sql(
    sql: str,
    values: dict[str, Any],
    params: dict[str, Any] | None = None,
    types: dict[str, str] | None = None,
) -> str:
    """The SQL with every template written as a value for where it stands (see above)."""
    params, types = params or {}, types or {}
    pieces, last = [], 0
    for m, where in sql_contexts(sql):
        pieces.append(sql[last : m.start()])
        last = m.end()
        name = m.group(1)
        kind, value = _lookup(name, values, params, types)
        label = name.removeprefix("params.")
        if where == COMMENT:
            pieces.append(m.group(0))
        elif where == SQUOTE:
            pieces.append(p.text_value(label, kind, value).replace("'", "''"))
        elif where == DQUOTE:
            pieces.append(p.text_value(label, kind, value).replace('"', '""'))
        elif name == "workspace":
            pieces.append(check_identifier(value, "workspace"))
        elif name == "ds":
            pieces.append(p.quote_string(p.text_value(label, kind, value)))
        else:
            pieces.append(p.sql_literal(label, kind, value))
    pieces.append(sql[last:])
    return "".join(pieces)


def render(
    text: str,
    values: dict[str, Any],
    params: dict[str, Any] | None = None,
    types: dict[str, str] | None = None,
) -> str:
    """Plain text (a Spark argument: one argv entry, no shell): every `{{ name }}` becomes
    its value's text, checked against its type; unknown names raise ValidationError."""
    params, types = params or {}, types or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        kind, raw = _lookup(name, values, params, types)
        return p.text_value(name.removeprefix("params."), kind, raw)

    return _VAR.sub(value, text)
