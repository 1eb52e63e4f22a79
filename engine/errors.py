"""One exception hierarchy whose messages a user can act on.

The CLI and the console print `str(error)`; a traceback is shown only with `--debug`.
No message may ever contain a secret value: callers pass names and references, never values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.views import ScriptStatement


class SadeemError(Exception):
    """Base of every error Sadeem reports to a user."""

    exit_code = 1


class ValidationError(SadeemError):
    """Input was refused; nothing was written. `field` names the offending field when known."""

    exit_code = 2

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class NotFound(SadeemError):
    """The named object does not exist (or is not visible to the acting user)."""

    exit_code = 3


class PermissionDenied(SadeemError):
    """The acting user's role does not allow the action."""

    exit_code = 4


class Unauthenticated(PermissionDenied):
    """No valid credentials came with a request: a missing, wrong, expired or revoked token
    (HTTP 401). The message says which, never the token."""


class Conflict(SadeemError):
    """The action clashes with existing state (duplicate name, wrong run state, ...)."""

    exit_code = 5


class SecretError(SadeemError):
    """A secret reference could not be resolved. Names the reference, never the value."""


class BackendError(SadeemError):
    """An external system (S3, catalog, Trino, Spark, Kubernetes) refused or failed."""

    exit_code = 6

    def __init__(self, message: str, kind: str = "error") -> None:
        # kind: dns | refused | timeout | tls | auth | forbidden | not_found | protocol | error
        self.kind = kind
        super().__init__(message)


class QueryError(BackendError):
    """A SQL statement failed; line/column point into the statement when the engine says."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        error_name: str | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.error_name = error_name
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{message}{where}", kind="query")


class QueryCancelled(BackendError):
    """The query was cancelled by the user or a timeout."""

    def __init__(self, message: str = "query cancelled") -> None:
        super().__init__(message, kind="cancelled")


class MetadataUnavailable(SadeemError):
    """The metadata database cannot be opened or reached (down, missing, not a database)."""

    exit_code = 7


class CatalogUnavailable(BackendError):
    """The embedded Iceberg catalog (`<data_dir>/catalog.db`) is missing, damaged or not the
    one this site's workspaces live in; nothing is written to it, nor is one recreated."""

    exit_code = 8

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="catalog")


class DiskFull(BackendError):
    """A write failed because the file system has no space left (ENOSPC / EDQUOT)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"disk full: {what}; free some space and try again", kind="disk_full")


def from_environment(exc: BaseException) -> SadeemError | None:
    """The SadeemError an expected failure of the environment stands for, or None for a bug.

    A front end calls this on an exception no service translated: a full disk, a metadata
    database that went away mid-command. Anything else stays an internal error (a bug)."""

    for err in _chain(exc):
        if is_disk_full(err):
            return DiskFull(str(getattr(err, "filename", None) or "a write"))
    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(exc, sa_exc.OperationalError | sa_exc.DatabaseError):
        text = str(getattr(exc, "orig", exc)).strip().splitlines()
        first = text[0] if text else exc.__class__.__name__
        if "disk is full" in first or "No space left" in first:
            return DiskFull("the metadata database")
        return MetadataUnavailable(f"metadata database unavailable: {first}")
    return None


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC or EDQUOT, from the OS or from a library that only kept its text (pyarrow)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# Where in a script an error happened (the services and the thin client alike).
_WHERE = re.compile(r" \(line \d+, column \d+\)$")


def located(exc: SadeemError, where: ScriptStatement | None) -> SadeemError:
    """`exc` (raised for one statement) with its position moved into the script, and, in
    a script of several statements, its message prefixed with `statement i of n`."""
    if where is None:
        return exc
    prefix = f"{where.label}: " if where.count > 1 else ""
    if isinstance(exc, QueryError) and not isinstance(exc, QueryCancelled):
        line, column = exc.line, exc.column
        if line is not None:
            column = column + where.column - 1 if line == 1 and column is not None else column
            line = line + where.line - 1
        moved = QueryError(
            prefix + _WHERE.sub("", str(exc)),
            line=line,
            column=column,
            error_name=exc.error_name,
        )
        return moved
    if prefix and not isinstance(exc, QueryCancelled):
        exc.args = (prefix + str(exc),)  # same type, exit code and field
    return exc
