"""What a SQL text does, and whether a workspace may run it: one footprint, fail closed.

`footprint()` parses a text once, with the dialect of the engine that will execute it, into
statement kinds, tables read and written, table functions and file paths. For the embedded
DuckDB, DuckDB's own parser splits the text and names each statement's type (so nothing
runs that was not classified, even where sqlglot gives up); sqlglot, reading the duckdb or
trino dialect, finds the tables, functions and paths. `check()` holds a footprint to the
rules (statement allow-list, parse, file sandbox, table functions, separation); the SQL
service, the job runner, job save and the separation check all call it, so they refuse the
same things with the same message.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from engine.errors import PermissionDenied, QueryError
from engine.lazy_imports import import_once


def load_sqlglot() -> None:
    """Call before any `import sqlglot`: its modules import each other in a circle, so it
    is imported whole and once (see engine.lazy_imports)."""
    import_once("sqlglot", "sqlglot.expressions", "sqlglot.tokens")
    # sqlglot warns on stderr for every statement it keeps as a raw Command; the footprint
    # reports those itself.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


# -- the rules, as data -------------------------------------------------------------------

READ_KINDS = frozenset({"select", "explain", "describe", "show", "summarize"})
WRITE_KINDS = frozenset(
    {"create_table_as", "create_table", "insert", "drop_table", "create_view", "drop_view"}
)
# Never run in a workspace (admins included on the embedded engine): each reaches the
# engine host's files, loads code, or changes the engine every member of the workspace shares.
REFUSED_KINDS: dict[str, str] = {
    "copy": "COPY reads and writes files on the engine's host",
    "attach": "ATTACH opens or creates database files",
    "detach": "DETACH changes the shared engine's databases",
    "export": "EXPORT DATABASE writes files on the engine's host",
    "import": "IMPORT DATABASE reads files on the engine's host",
    "load": "INSTALL/LOAD put extension code into the engine",
    "set": "SET/RESET/USE change the settings of the engine the workspace shares",
    "pragma": "PRAGMA changes engine settings and can write files (profiling output)",
    "call": "CALL runs engine procedures",
    "checkpoint": "CHECKPOINT writes the engine's database file",
}
ALLOWED_TEXT = (
    "reads (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE) and, for runners and "
    "up, CREATE TABLE AS, INSERT, DROP TABLE and CREATE/DROP VIEW"
)
# DuckDB table functions that read files: allowed on literal paths under the workspace's
# storage prefix only. Any other table function not in SAFE_TABLE_FUNCTIONS is refused, so
# one a new DuckDB version adds is refused until it is looked at.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "sniff_csv",
    }
)
SAFE_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "repeat",
        "repeat_row",
        "summary",
        "duckdb_columns",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
    }
)
# DuckDB's own views that describe the workspace's tables, allowed; every other one of its
# internal views (pg_settings, duckdb_databases, pragma_database_list, duckdb_logs, ...) is
# refused, so one a new DuckDB version adds is refused until it is looked at: they show
# the engine's settings, its spill directory and database paths, other callers' statements.
SAFE_SYSTEM_VIEWS = frozenset(
    {
        "columns",
        "schemata",
        "tables",
        "views",
        "duckdb_columns",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_constraints",
        "pg_tables",
        "pg_views",
        "pg_namespace",
        "pg_class",
        "pg_attribute",
        "pg_type",
    }
)
# Scalar functions that read the engine's settings (its paths, its limits).
SETTING_FUNCTIONS = frozenset({"current_setting"})
# Options of the CSV reader that write tables (rejected rows) from a read.
_WRITING_OPTIONS = frozenset({"store_rejects", "rejects_table", "rejects_scan"})
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
_GLOB = re.compile(r"[*?\[{]")
_PATH_LIKE = re.compile(r"[/\\:~]|\.[A-Za-z0-9]+$")
_LEADING = re.compile(r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?", re.S)


@dataclass(frozen=True)
class TableRef:
    catalog: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.namespace, self.name) if p)


@dataclass(frozen=True)
class Statement:
    """One statement's footprint. `tree` is sqlglot's parse, for the backend's own use."""

    text: str
    kind: str  # a READ_KINDS / WRITE_KINDS / REFUSED_KINDS key, or "other"
    label: str  # its leading keywords, for messages: "COPY", "IMPORT DATABASE"
    reads: frozenset[TableRef] = frozenset()
    writes: frozenset[TableRef] = frozenset()
    names: frozenset[str] = frozenset()  # schema names a SHOW lists
    functions: frozenset[str] = frozenset()  # table functions it calls
    paths: tuple[str, ...] = ()  # literal file paths and URLs it reads
    problems: tuple[str, ...] = ()  # what the file sandbox cannot check (non-literal paths)
    parse_error: str | None = None  # sqlglot could not read it
    temporary: bool = False
    tree: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class SqlFootprint:
    dialect: str
    statements: tuple[Statement, ...] = ()
    syntax_error: QueryError | None = None  # the engine's own parser refused the text

    @property
    def read_only(self) -> bool:
        return all(s.kind in READ_KINDS and s.parse_error is None for s in self.statements)

    @property
    def parsed(self) -> bool:
        return self.syntax_error is None and all(s.parse_error is None for s in self.statements)

    @property
    def reads(self) -> set[TableRef]:
        return {t for s in self.statements for t in s.reads}

    @property
    def writes(self) -> set[TableRef]:
        return {t for s in self.statements for t in s.writes}

    @property
    def namespaces(self) -> set[str]:
        named = {n for s in self.statements for n in s.names}
        return named | {t.namespace for t in self.reads | self.writes if t.namespace}

    @property
    def kinds(self) -> list[str]:
        return [s.kind for s in self.statements]

    def audit(self) -> dict[str, Any]:
        """What the audit event of a write records: never None, whatever was parsed."""
        return {
            "kinds": self.kinds,
            "writes": sorted(str(t) for t in self.writes),
            "reads": sorted(str(t) for t in self.reads),
            "paths": sorted({p for s in self.statements for p in s.paths}),
            "parsed": self.parsed,
        }


# -- parsing ------------------------------------------------------------------------------


def _query_error(exc: Exception) -> QueryError:
    errors = getattr(exc, "errors", None) or [{}]
    first = errors[0]
    return QueryError(
        str(first.get("description") or exc).split("\n")[0],
        line=first.get("line"),
        column=first.get("col"),
        error_name="SYNTAX_ERROR",
    )


# Texts up to this size are parsed once for the service, the backend and the audit event;
# a longer script (up to 1 MB) is parsed again rather than held in memory.
CACHED_TEXT = 64 * 1024


def footprint(sql: str, dialect: str = "trino") -> SqlFootprint:
    """The footprint of `sql` as `dialect` ("duckdb" or "trino") will execute it."""
    if len(sql) <= CACHED_TEXT:
        return _cached_footprint(sql, dialect)
    return _footprint(sql, dialect)


@functools.lru_cache(maxsize=64)
def _cached_footprint(sql: str, dialect: str) -> SqlFootprint:
    return _footprint(sql, dialect)


def _footprint(sql: str, dialect: str) -> SqlFootprint:
    load_sqlglot()
    if dialect == "duckdb":
        return _duckdb_footprint(sql)
    import sqlglot

    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except sqlglot.errors.ParseError as exc:
        err = str(_query_error(exc))
        pieces = split_text(sql) or [sql]
        return SqlFootprint(
            dialect, tuple(Statement(p, "other", _label(p), parse_error=err) for p in pieces)
        )
    found = []
    for t in trees:
        text = t.sql(dialect=dialect)
        try:
            found.append(_statement(text, t, dialect))
        except Exception as exc:  # a tree shape the footprint does not know: fail closed
            found.append(Statement(text, "other", _label(text), parse_error=type(exc).__name__))
    return SqlFootprint(dialect, tuple(found))


def _duckdb_footprint(sql: str) -> SqlFootprint:
    import duckdb
    import sqlglot

    try:
        with _PARSER_LOCK:
            parsed = _duckdb_parser().extract_statements(sql)
    except duckdb.ParserException as exc:
        from engine.backends.duckdb import query_error

        return SqlFootprint("duckdb", (), syntax_error=query_error(exc))
    except Exception as exc:  # a statement type this DuckDB client cannot name
        return SqlFootprint(
            "duckdb", (Statement(sql, "other", _label(sql), parse_error=type(exc).__name__),)
        )
    out = []
    for stmt in parsed:
        text = stmt.query.strip().rstrip(";").strip()
        engine_kind = _duckdb_kind(stmt.type.name, _label(text))
        err: str | None = None
        try:
            trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
        except sqlglot.errors.ParseError as exc:
            trees, err = [], str(_query_error(exc))
        if err is None and len(trees) != 1:
            err = "it does not read as exactly one statement"
        if err is not None:
            kind = "other" if engine_kind == "write" else engine_kind
            out.append(Statement(text, kind, _label(text), parse_error=err))
            continue
        try:
            found = _statement(text, trees[0], "duckdb")
        except Exception as exc:  # a tree shape the footprint does not know: fail closed
            kind = "other" if engine_kind == "write" else engine_kind
            out.append(Statement(text, kind, _label(text), parse_error=type(exc).__name__))
            continue
        # DuckDB's own type decides what is refused, whatever sqlglot made of it; where
        # the two disagree on a read or an insert, the statement counts as unparsed.
        if engine_kind in REFUSED_KINDS or engine_kind == "other":
            found = _replace(found, kind=engine_kind)
        elif (engine_kind == "select" and found.kind not in READ_KINDS) or (
            engine_kind == "insert" and found.kind != "insert"
        ):
            found = _replace(found, parse_error="DuckDB and Sadeem read it differently")
        elif engine_kind == "write" and found.kind not in WRITE_KINDS | {"select"}:
            found = _replace(found, kind="other")
        out.append(found)
    return SqlFootprint("duckdb", tuple(out))


_PARSER_LOCK = threading.Lock()


@functools.cache
def _duckdb_parser() -> Any:
    """A private, empty DuckDB for parsing only (never runs a user's statement); used
    under _PARSER_LOCK, since one DuckDB connection serves one thread at a time."""
    import duckdb

    return duckdb.connect(":memory:")


@functools.cache
def _duckdb_functions() -> tuple[frozenset[str], frozenset[str]]:
    """(table function names, scalar/aggregate function names) of the installed DuckDB."""
    with _PARSER_LOCK:
        rows = (
            _duckdb_parser()
            .execute("SELECT DISTINCT function_name, function_type FROM duckdb_functions()")
            .fetchall()
        )
    table = frozenset(n.lower() for n, t in rows if t in ("table", "table_macro"))
    scalar = frozenset(n.lower() for n, t in rows if t not in ("table", "table_macro"))
    return table, scalar


@functools.cache
def _duckdb_system_views() -> dict[str, frozenset[str]]:
    """The installed DuckDB's internal views: name -> the schemas that hold one."""
    with _PARSER_LOCK:
        rows = (
            _duckdb_parser()
            .execute("SELECT view_name, schema_name FROM duckdb_views() WHERE internal")
            .fetchall()
        )
    schemas: dict[str, set[str]] = {}
    for name, schema in rows:
        schemas.setdefault(name.lower(), set()).add(schema.lower())
    return {name: frozenset(held) for name, held in schemas.items()}


def system_view(table: TableRef) -> str | None:
    """The DuckDB internal view a table reference reads, or None for the workspace's own.
    An unqualified name is DuckDB's view only where the workspace has no table of that name,
    which the separation rule's namespaces cannot tell: so an unqualified internal name is
    treated as the internal view (fail closed; a workspace table is read qualified)."""
    held = _duckdb_system_views().get(table.name.lower())
    if not held:
        return None
    if not table.namespace or table.namespace in held | {"system", "temp"}:
        return table.name.lower()
    if table.catalog in ("system", "temp") or table.namespace == "main":
        return table.name.lower()
    return None


def _duckdb_kind(type_name: str, label: str) -> str:
    """The kind DuckDB's parser gives; "write" where sqlglot must say which (CREATE, DROP)."""
    first = label.split(" ")[0]
    if type_name == "PRAGMA":
        return {"IMPORT": "import", "COPY": "copy"}.get(first, "pragma")
    if type_name == "CALL":
        return "checkpoint" if first in ("CHECKPOINT", "FORCE") else "call"
    if type_name == "EXPLAIN":
        return "explain"
    if type_name == "SET" and first == "PRAGMA":  # DuckDB types `PRAGMA name=value` as SET
        return "pragma"
    mapped = {
        "COPY": "copy",
        "COPY_DATABASE": "copy",
        "EXPORT": "export",
        "SET": "set",
        "VARIABLE_SET": "set",
        "LOAD": "load",
        "EXTENSION": "load",
        "UPDATE_EXTENSIONS": "load",
        "ATTACH": "attach",
        "DETACH": "detach",
    }
    if type_name in mapped:
        return mapped[type_name]
    if type_name in ("SELECT", "INSERT", "CREATE", "DROP", "MULTI"):
        return {"SELECT": "select", "INSERT": "insert"}.get(type_name, "write")
    return "other"


def _replace(s: Statement, **changes: Any) -> Statement:
    from dataclasses import replace

    return replace(s, **changes)


def _label(text: str) -> str:
    m = _LEADING.match(text)
    if not m:
        return "?"
    first, second = m.group(1).upper(), (m.group(2) or "").upper()
    if first in ("FORCE", "CREATE", "DROP", "EXPORT", "IMPORT", "EXPLAIN", "INSERT") and second:
        return f"{first} {second}"
    return first


def _statement(text: str, tree: Any, dialect: str) -> Statement:
    """Kind, tables, functions and paths of one parsed statement."""
    from sqlglot import exp

    kind, temporary = _kind(tree)
    label = _label(text)
    if kind == "explain":
        inner_text = re.sub(r"^\s*EXPLAIN(\s+ANALYZE)?", "", text, flags=re.I).strip()
        inner = _explained(inner_text, dialect)
        if inner is None or inner.kind not in READ_KINDS - {"explain"}:
            # EXPLAIN ANALYZE runs its statement: explaining a write is refused.
            return Statement(text, "other", label, tree=tree)
        return _replace(inner, text=text, kind="explain", label=label, tree=tree)
    targets: list[Any] = []
    if kind in WRITE_KINDS:
        holder = tree.this if isinstance(tree.this, exp.Expression) else tree
        target = holder if isinstance(holder, exp.Table) else holder.find(exp.Table)
        if isinstance(target, exp.Table):
            targets.append(target)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    reads, paths, names = set(), [], set()
    for table in tree.find_all(exp.Table):
        if any(table is t for t in targets) or not table.name:
            continue
        if not table.db and table.name in ctes:
            continue
        if not table.db and not table.catalog and _PATH_LIKE.search(table.name):
            paths.append(table.name)  # DuckDB reads `FROM '/x/y.csv'` as a file
            continue
        reads.add(_ref(table))
    if kind == "show":
        names = {i.name.lower() for i in tree.find_all(exp.Identifier)}
        if isinstance(tree, exp.Command):  # Trino's SHOW: every word may name a schema
            rest = tree.expression  # sqlglot keeps some SHOWs' rest as a plain str
            rest = rest if isinstance(rest, str) else getattr(rest, "name", "") or ""
            names |= {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rest)}
    functions, fpaths, problems = _functions(tree, dialect)
    return Statement(
        text,
        kind,
        label,
        reads=frozenset(reads),
        writes=frozenset(_ref(t) for t in targets),
        names=frozenset(names),
        functions=frozenset(functions),
        paths=tuple(paths + fpaths),
        problems=tuple(problems),
        temporary=temporary,
        tree=tree,
    )


def _explained(text: str, dialect: str) -> Statement | None:
    import sqlglot

    try:
        trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
    except sqlglot.errors.ParseError:
        return None
    return _statement(text, trees[0], dialect) if len(trees) == 1 else None


def _ref(table: Any) -> TableRef:
    # Both engines fold unquoted names to lower case (DuckDB even quoted ones), so
    # `BETA_GOLD.t` is `beta_gold.t`.
    return TableRef(table.catalog.lower(), table.db.lower(), table.name)


def _kind(tree: Any) -> tuple[str, bool]:
    """(kind, temporary) of a sqlglot statement."""
    from sqlglot import exp

    temporary = bool(tree.find(exp.TemporaryProperty)) if isinstance(tree, exp.Create) else False
    if isinstance(tree, exp.Describe):
        return "describe", False
    if isinstance(tree, exp.Show):
        return "show", False
    if isinstance(tree, exp.Summarize):
        return "summarize", False
    if isinstance(tree, exp.Query | exp.Pivot | exp.Values):
        return "select", False
    if isinstance(tree, exp.Create):
        what = (tree.args.get("kind") or "").upper()
        if what == "TABLE":
            return ("create_table_as" if tree.expression else "create_table"), temporary
        if what == "VIEW":
            return "create_view", temporary
        return "other", temporary
    if isinstance(tree, exp.Insert):
        return "insert", False
    if isinstance(tree, exp.Drop):
        what = (tree.args.get("kind") or "").upper()
        return {"TABLE": "drop_table", "VIEW": "drop_view"}.get(what, "other"), False
    simple = {
        exp.Copy: "copy",
        exp.Attach: "attach",
        exp.Detach: "detach",
        exp.Install: "load",
        exp.Pragma: "pragma",
        exp.Set: "set",
        exp.Use: "set",
    }
    for cls, name in simple.items():
        if isinstance(tree, cls):
            return name, False
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        return {
            "EXPLAIN": "explain",
            "SHOW": "show",
            "CALL": "call",
            "LOAD": "load",
            "INSTALL": "load",
            "RESET": "set",
            "CHECKPOINT": "checkpoint",
            "EXPORT": "export",
            "IMPORT": "import",
        }.get(word, "other"), False
    return "other", False


def _function_name(f: Any) -> str:
    from sqlglot import exp

    return (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()


def _functions(tree: Any, dialect: str) -> tuple[set[str], list[str], list[str]]:
    """(table functions called, literal paths they read, what cannot be checked)."""
    from sqlglot import exp

    called: set[str] = set()
    paths: list[str] = []
    problems: list[str] = []
    table_names, scalar_names = _duckdb_functions() if dialect == "duckdb" else ((), ())
    for f in tree.find_all(exp.Func):
        name = _function_name(f)
        in_table = isinstance(f.parent, exp.Table | exp.Lateral | exp.From | exp.Join)
        if dialect != "duckdb":
            if in_table and not isinstance(f, exp.Unnest):
                called.add(name)
            continue
        if name in SETTING_FUNCTIONS:
            called.add(name)  # held to the table-function rule: it is off the safe list
            continue
        is_table = name in FILE_FUNCTIONS or (
            name in table_names and (in_table or name not in scalar_names)
        )
        if not is_table:
            continue
        called.add(name)
        if name not in FILE_FUNCTIONS:
            continue
        args = [f.this] if not isinstance(f, exp.Anonymous) else []
        args += list(f.expressions)
        positional = [a for a in args if a is not None and not _named(a)]
        named = {_named(a): a.expression for a in args if a is not None and _named(a)}
        for option in sorted(set(named) & _WRITING_OPTIONS):
            problems.append(f"{name}() option {option} writes a table")
        target = positional[0] if positional else named.get("path") or named.get("paths")
        value = _fold(target) if target is not None else None
        if value is None:
            problems.append(f"the path of {name}() must be a string literal")
        else:
            paths += value
    return called, paths, problems


def _named(arg: Any) -> str:
    from sqlglot import exp

    if isinstance(arg, exp.EQ | exp.PropertyEQ | exp.Kwarg):
        return str(arg.this.name).lower()
    return ""


def _fold(node: Any) -> list[str] | None:
    """The literal strings a path argument stands for, or None if it is not constant."""
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _fold(node.this)
    if isinstance(node, exp.Literal) and node.is_string:
        return [node.this]
    if isinstance(node, exp.Array):
        out: list[str] = []
        for item in node.expressions:
            got = _fold(item)
            if got is None or len(got) != 1:
                return None
            out += got
        return out
    if isinstance(node, exp.DPipe):
        left, right = _fold(node.this), _fold(node.expression)
        if left is None or right is None or len(left) != 1 or len(right) != 1:
            return None
        return [left[0] + right[0]]
    return None


# -- the check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Where a statement runs and for whom: the inputs of every rule."""

    workspace: str
    own: frozenset[str]  # the workspace's namespaces
    owners: Mapping[str, str]  # every workspace's namespaces -> that workspace
    roots: tuple[str, ...] = ()  # storage prefixes (paths or URLs) whose files it may read
    foreign_roots: tuple[str, ...] = ()  # other workspaces' prefixes (nested ones too)
    admin: bool = False  # a platform admin: no parse rule; on Trino no other rule either
    sandbox_only: bool = False  # the engine's own check: statements and files, no users


def check(fp: SqlFootprint, policy: Policy) -> None:
    """Raise the refusal of the first rule `fp` breaks (PermissionDenied naming the rule;
    the engine's own QueryError for a syntax error); return if every rule holds."""
    if fp.syntax_error is not None:
        raise fp.syntax_error  # the engine could not parse it either: nothing can run
    embedded = fp.dialect == "duckdb"
    count = len(fp.statements)
    for i, s in enumerate(fp.statements, start=1):
        where = f"statement {i} ({s.label})" if count > 1 else s.label
        sandboxed = embedded or not policy.admin  # admins are held on the embedded engine
        if s.kind in REFUSED_KINDS and sandboxed:
            raise PermissionDenied(
                f"refused by the statement rule: {where}: {REFUSED_KINDS[s.kind]}; a "
                f"workspace runs only {ALLOWED_TEXT}"
            )
        if s.parse_error is not None and not policy.admin:
            raise PermissionDenied(
                f"refused by the parse rule: Sadeem cannot parse {where} with the "
                f"{fp.dialect} dialect ({s.parse_error}), so it cannot check what it touches; "
                "only platform admins may run SQL Sadeem cannot check"
            )
        if sandboxed and (s.kind not in READ_KINDS | WRITE_KINDS or s.temporary):
            hint = (
                "; rewrite it as CREATE OR REPLACE TABLE ... AS SELECT"
                if s.label.split(" ")[0] in ("UPDATE", "DELETE", "MERGE", "TRUNCATE")
                else ""
            )
            raise PermissionDenied(
                f"refused by the statement rule: {where} is not on the allow-list; a "
                f"workspace runs only {ALLOWED_TEXT}{hint}"
            )
        if embedded and s.kind == "create_table":
            raise PermissionDenied(
                f"refused by the statement rule: {where}: the embedded engine creates tables "
                "from a query only (CREATE TABLE ... AS SELECT)"
            )
        _check_files(s, where, policy, embedded)
        # The embedded engine of a workspace reads only that workspace's files, so there
        # admins too use a workspace's tables from inside it (`-w`); on Trino they may cross.
        if sandboxed and not policy.sandbox_only:
            _check_separation(s, where, policy, embedded)


def _check_files(s: Statement, where: str, policy: Policy, embedded: bool) -> None:
    if not embedded:
        if s.functions and not policy.admin:
            name = sorted(s.functions)[0]
            raise PermissionDenied(
                f"refused by the table-function rule: {where} calls {name}(); table "
                "functions can reach past the workspace's namespaces"
            )
        return
    for name in sorted(s.functions & SETTING_FUNCTIONS):
        raise PermissionDenied(
            f"refused by the table-function rule: {where} calls {name}(), which reads the "
            "engine's settings (its paths and limits), shared by every workspace"
        )
    for name in sorted(s.functions - FILE_FUNCTIONS - SAFE_TABLE_FUNCTIONS):
        raise PermissionDenied(
            f"refused by the table-function rule: {where} calls {name}(), which is not "
            f"allowed in a workspace; file readers ({', '.join(sorted(FILE_FUNCTIONS)[:6])}, "
            "...) read only under the workspace's storage prefix"
        )
    for view in sorted(v for v in map(system_view, s.reads) if v):
        if view not in SAFE_SYSTEM_VIEWS:
            raise PermissionDenied(
                f"refused by the table-function rule: {where} reads DuckDB's {view}, which "
                "describes the engine (its settings, paths or other callers), not the "
                "workspace; its tables are in information_schema.tables and duckdb_tables"
            )
    for problem in s.problems:
        raise PermissionDenied(f"refused by the file rule: {where}: {problem}")
    for target in sorted(s.writes, key=str):
        # A written table's namespace and name become directories of the workspace's
        # storage (`team_gold."../../beta/raw/x"` would write into beta's prefix).
        if not all(_PLAIN_NAME.fullmatch(part) for part in (target.namespace, target.name) if part):
            raise PermissionDenied(
                f"refused by the file rule: {where} writes {target!s}: a table's name becomes a "
                "directory of the workspace's storage, so it holds only letters, digits and _"
            )
    for path in s.paths:
        reason = path_refusal(path, policy.roots, policy.foreign_roots)
        if reason:
            raise PermissionDenied(
                f"refused by the file rule: {where} reads {path!r}: {reason}; SQL in "
                f"{policy.workspace!r} reads files only under its own storage prefix"
            )


def _check_separation(s: Statement, where: str, policy: Policy, embedded: bool) -> None:
    owners = policy.owners
    for ns in sorted({t.namespace for t in s.reads | s.writes if t.namespace} | set(s.names)):
        owner = owners.get(ns)
        if owner is not None and owner != policy.workspace:
            raise PermissionDenied(
                f"refused by the separation rule: {where} uses {ns}, which belongs to "
                f"workspace {owner!r}; a query in {policy.workspace!r} may only use its own "
                "namespaces"
            )
    for target in sorted(s.writes, key=str):
        if embedded and target.catalog:
            raise PermissionDenied(
                f"refused by the separation rule: {where} writes {target}; name tables as "
                "NAMESPACE.TABLE"
            )
        if target.namespace and target.namespace not in policy.own:
            raise PermissionDenied(
                f"refused by the separation rule: {where} writes {target}, outside "
                f"{policy.workspace!r}'s namespaces ({', '.join(sorted(policy.own)) or 'none'})"
            )


def local_root(uri: str) -> str | None:
    """The real directory (with a trailing /) of a file:// or absolute-path prefix."""
    if uri.startswith("file://"):
        uri = unquote(uri[len("file://") :])
    if not uri.startswith("/"):
        return None
    return os.path.realpath(uri).rstrip("/") + "/"


def path_refusal(
    path: str, roots: tuple[str, ...], foreign_roots: tuple[str, ...] = ()
) -> str | None:
    """Why `path` may not be read by SQL confined to `roots`, or None if it may."""
    if not path:
        return "an empty path"
    if path.startswith("file:"):
        path = unquote(re.sub(r"^file:(//)?", "", path))
    parts = re.split(r"[/\\]", path)
    if ".." in parts:
        return "'..' is not allowed in a path"
    if "://" in path:
        url_roots = [r.rstrip("/") + "/" for r in roots if "://" in r and not r.startswith("file:")]
        if any(path.startswith(r) for r in url_roots) and not any(
            path.startswith(r.rstrip("/") + "/") for r in foreign_roots
        ):
            return None
        return "it is outside the workspace's storage prefix"
    if not path.startswith("/"):
        return "relative paths (and ~) resolve outside the workspace; give an absolute path"
    # The directory part before any glob, with symlinks resolved, must be under a root
    # (DuckDB itself refuses what a glob then matches through a symlink).
    match = _GLOB.search(path)
    if match is not None:
        real = os.path.realpath(path[: match.start()].rsplit("/", 1)[0] or "/") + "/"
    else:
        real = os.path.realpath(path)
        real += "/" if os.path.isdir(real) else ""
    local = [r for r in (local_root(x) for x in roots) if r]
    if not any(real.startswith(r) for r in local):
        return "it is outside the workspace's storage prefix"
    foreign = [r for r in (local_root(x) for x in foreign_roots) if r]
    if any(real.startswith(r) for r in foreign):
        return "it is inside another workspace's storage prefix"
    return None


# -- splitting ----------------------------------------------------------------------------


def statement_spans(sql: str) -> list[tuple[int, int]]:
    """Where each statement of a script lies: (start, end) offsets into `sql`, split on
    top-level `;` tokens, so semicolons inside strings, quoted names, comments and
    `$$...$$` / `$tag$...$tag$` bodies do not count. Pieces with no code (only blanks or
    comments) are left out; a span starts at its first token and ends after its last.

    The one splitter of Sadeem: the CLI, the console (the statement under the cursor) and
    the runner all split with it. DuckDB's tokenizer reads dollar quotes as DuckDB and
    PostgreSQL do; sqlglot's default one splits inside them."""
    load_sqlglot()
    from sqlglot.dialects.duckdb import DuckDB
    from sqlglot.tokens import TokenType

    try:
        tokens = DuckDB.Tokenizer().tokenize(sql)
    except Exception:  # unknown syntax: hand the whole text to the engine as one statement
        return [(len(sql) - len(sql.lstrip()), len(sql.rstrip()))] if sql.strip() else []
    spans: list[tuple[int, int]] = []
    boundary = 0  # just after the previous top-level `;`
    last = None
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if last is not None:
                # From the first non-blank after the `;` (a comment heading the statement
                # belongs to it) to the end of its last token (inclusive in sqlglot).
                head = sql[boundary:]
                spans.append((boundary + len(head) - len(head.lstrip()), last.end + 1))
            if token is not None:
                boundary = token.end + 1
            last = None
            continue
        last = token
    return spans


def split_text(sql: str) -> list[str]:
    """The statements of a script as the author wrote them (see statement_spans)."""
    return [sql[a:b] for a, b in statement_spans(sql)]


def statement_at(sql: str, offset: int) -> tuple[int, int] | None:
    """Where the statement of a script under `offset` lies: the one it is in, else
    (between two statements, or after the last `;`) the one before it, else the first;
    None when the script has no statement."""
    chosen: tuple[int, int] | None = None
    for a, b in statement_spans(sql):
        if a <= offset or chosen is None:
            chosen = (a, b)
        if offset <= b:
            break
    return chosen
