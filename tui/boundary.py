"""The console's one error boundary: what a failure says, wherever it happens.

Every worker that fails ends here (SadeemApp._handle_exception), and so does every key,
palette entry and `:command` (SadeemApp.run_action, run_command): the operator sees one
notification and the console stays up. An engine error says what to do (its own message);
a file or socket error names the path and the reason; anything else is a bug, said so, with
its type, since the console must not die for it either."""

from __future__ import annotations

from engine.errors import SadeemError

# The failures an operator causes or can fix (a name, a path, a network); anything else
# found at the boundary is a bug in Sadeem.
EXPECTED: tuple[type[BaseException], ...] = (SadeemError, OSError)


def failure_text(exc: BaseException) -> str:
    """One line an operator can act on."""
    if isinstance(exc, SadeemError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        # `[Errno 2] No such file or directory: '/x'` reads worse than the path first.
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror}" if where else exc.strerror
    if isinstance(exc, OSError):
        return f"{exc.__class__.__name__}: {exc}"
    return f"internal error ({exc.__class__.__name__}: {exc}); please report it"
