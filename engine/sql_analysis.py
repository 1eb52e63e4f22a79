"""What a SQL text does, as far as Sadeem cares: which tables it reads and writes, and
whether it only reads. Parsed with sqlglot; a statement that cannot be parsed is treated
as a write (the conservative side) and reported to the caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import QueryError
from engine.lazy_imports import import_once


def load_sqlglot() -> None:
    """Call before any `import sqlglot`: its modules import each other in a circle, so it
    is imported whole and once (see engine.lazy_imports)."""
    import_once("sqlglot", "sqlglot.expressions", "sqlglot.tokens")


# Statement kinds that only read. Anything else (DDL, DML, SET, CALL, ...) is a write.
_READ_KINDS = ("Select", "Union", "Except", "Intersect", "Describe", "Show", "Pragma")


@dataclass(frozen=True)
class TableRef:
    catalog: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.namespace, self.name) if p)


@dataclass
class SqlFootprint:
    statements: int = 0
    read_only: bool = True
    reads: set[TableRef] = field(default_factory=set)
    writes: set[TableRef] = field(default_factory=set)

    @property
    def namespaces(self) -> set[str]:
        return {t.namespace for t in self.reads | self.writes if t.namespace}


def split_statements(sql: str, dialect: str = "trino") -> list[str]:
    """The statements of a script, each as its own text (comments kept out)."""
    load_sqlglot()
    import sqlglot

    try:
        return [s.sql(dialect=dialect) for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise _query_error(exc) from None


def _query_error(exc: Exception) -> QueryError:
    errors = getattr(exc, "errors", None) or [{}]
    first = errors[0]
    return QueryError(
        str(first.get("description") or exc).split("\n")[0],
        line=first.get("line"),
        column=first.get("col"),
        error_name="SYNTAX_ERROR",
    )


def footprint(sql: str, dialect: str = "trino") -> SqlFootprint:
    """Tables read and written by `sql`; raises QueryError (with position) when unparsable."""
    load_sqlglot()
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise _query_error(exc) from None
    fp = SqlFootprint(statements=len(statements))
    _WRITE_KINDS = tuple(
        getattr(exp, k)
        for k in ("Create", "Insert", "Drop", "Update", "Delete", "Merge", "Alter")
        if hasattr(exp, k)
    )
    for stmt in statements:
        ctes = {c.alias_or_name for c in stmt.find_all(exp.CTE)}
        targets: set[int] = set()
        if not isinstance(stmt, tuple(getattr(exp, k) for k in _READ_KINDS if hasattr(exp, k))):
            fp.read_only = False
            target = None
            if isinstance(stmt, _WRITE_KINDS):
                holder = stmt.this if isinstance(stmt.this, exp.Expression) else stmt
                target = holder if isinstance(holder, exp.Table) else holder.find(exp.Table)
            if isinstance(target, exp.Table):
                targets.add(id(target))
                fp.writes.add(TableRef(target.catalog, target.db, target.name))
        for table in stmt.find_all(exp.Table):
            if id(table) in targets or not table.name:
                continue
            if not table.db and table.name in ctes:
                continue
            fp.reads.add(TableRef(table.catalog, table.db, table.name))
    return fp


def split_text(sql: str) -> list[str]:
    """The statements of a script as the author wrote them (split on top-level `;` tokens,
    so semicolons inside strings and comments do not count)."""
    load_sqlglot()
    from sqlglot.tokens import Tokenizer, TokenType

    try:
        tokens = Tokenizer().tokenize(sql)
    except Exception:  # unknown syntax: hand the whole text to the engine as one statement
        return [sql.strip()] if sql.strip() else []
    pieces, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start : token.start])
            start = token.end + 1
    pieces.append(sql[start:])
    return [p.strip() for p in pieces if _has_code(p)]


def _has_code(text: str) -> bool:
    lines = [line.split("--", 1)[0].strip() for line in text.strip().splitlines()]
    return any(lines)
