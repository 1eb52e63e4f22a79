"""One exception hierarchy whose messages a user can act on.

The CLI and the console print `str(error)`; a traceback is shown only with `--debug`.
No message may ever contain a secret value: callers pass names and references, never values.
"""

from __future__ import annotations


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
