"""Values and errors on the wire, the same way both ways.

JSON cannot say "a RunView", "a datetime" or "a tuple", and the CLI reads attributes off
what the services return (`run.id`, `job.schedule.next_fire`). So every value that is not a
JSON string, number, bool, null or list travels as a one-key object naming its kind:
`{"$dict": {...}}`, `{"$tuple": [...]}`, `{"$dt": iso}`, `{"$view": [name, {...}]}`, ...
Decoding builds only the kinds listed here: the view classes of the services and a few
argument types, never an arbitrary class a peer names."""

from __future__ import annotations

import base64
import dataclasses
import importlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from engine import errors

# Where the service views (and argument types) live: module -> classes a peer may send.
_VIEW_MODULES: dict[str, tuple[str, ...]] = {
    "engine.views": (
        "WorkspaceView",
        "MemberView",
        "ConnectionView",
        "ConnectionHealth",
        "UserView",
        "AuditView",
        "JobView",
        "ScheduleView",
        "ScheduleSpec",
        "HistoryView",
        "ScriptStatement",
        "TokenView",
        "NewToken",
        "EngineStatus",
        "Plan",
        "Step",
        "Violation",
        "RunView",
        "LogChunk",
    ),
    "engine.backends.base": (
        "QueryProgress",
        "HealthResult",
        "ColumnInfo",
        "SnapshotInfo",
        "TableInfo",
    ),
}


@cache
def views() -> dict[str, type]:
    """Name -> class of every dataclass allowed on the wire (imported on first use)."""
    out: dict[str, type] = {}
    for module, names in _VIEW_MODULES.items():
        mod = importlib.import_module(module)
        for name in names:
            out[name] = getattr(mod, name)
    return out


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Path):
        return {"$path": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset):
        return {"$set": [encode(v) for v in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if views().get(name) is not type(value):
            raise TypeError(f"{name} is not a view allowed on the wire")
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$view": [name, fields]}
    if _is_arrow_table(value):
        return {"$arrow": base64.b64encode(arrow_to_ipc(value)).decode()}
    raise TypeError(f"{type(value).__name__} cannot be sent")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError("a JSON object on the wire must be one tagged value")
    ((tag, body),) = value.items()
    if tag == "$dict":
        return {str(k): decode(v) for k, v in body.items()}
    if tag == "$tuple":
        return tuple(decode(v) for v in body)
    if tag == "$set":
        return {decode(v) for v in body}
    if tag == "$dt":
        return datetime.fromisoformat(body)
    if tag == "$date":
        return date.fromisoformat(body)
    if tag == "$path":
        return Path(body)
    if tag == "$bytes":
        return base64.b64decode(body)
    if tag == "$arrow":
        try:
            return ipc_to_arrow(base64.b64decode(body))
        except Exception as exc:  # pyarrow says OSError for a cut stream, ArrowInvalid for others
            raise ValueError(f"not an Arrow IPC stream ({exc.__class__.__name__})") from None
    if tag == "$view":
        name, fields = body
        cls = views().get(name)
        if cls is None:
            raise ValueError(f"{name!r} is not a view allowed on the wire")
        return cls(**{k: decode(v) for k, v in fields.items()})
    raise ValueError(f"unknown tag {tag!r}")


def _is_arrow_table(value: Any) -> bool:
    return type(value).__module__.startswith("pyarrow") and hasattr(value, "schema")


def arrow_to_ipc(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def ipc_to_arrow(data: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all()


# --- errors ------------------------------------------------------------------------------

# The engine's exception classes and the HTTP status each travels as. The client raises the
# same class again, so the CLI's exit code is the one it would be embedded.
ERROR_STATUS: dict[type[errors.SadeemError], int] = {
    errors.ValidationError: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.SecretError: 422,
    errors.QueryCancelled: 499,
    errors.QueryError: 422,
    errors.DiskFull: 507,
    errors.CatalogUnavailable: 503,
    errors.BackendError: 502,
    errors.MetadataUnavailable: 503,
    errors.SadeemError: 500,
}
_ERRORS = {cls.__name__: cls for cls in ERROR_STATUS}
# Attributes some classes carry besides the message (the console points at line/column).
_ERROR_ATTRS = ("field", "kind", "line", "column", "error_name")


def status_of(exc: errors.SadeemError) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


def encode_error(exc: errors.SadeemError) -> dict[str, Any]:
    cls = next(c for c in type(exc).__mro__ if c in ERROR_STATUS)
    attrs = {a: getattr(exc, a) for a in _ERROR_ATTRS if hasattr(exc, a)}
    return {"error": {"class": cls.__name__, "message": str(exc), **attrs}}


def decode_error(body: Any, status: int) -> errors.SadeemError:
    """The exception a server's error body stands for; a SadeemError if it is unreadable."""
    info = body.get("error") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return errors.SadeemError(f"the engine answered HTTP {status}")
    cls = _ERRORS.get(str(info.get("class")), errors.SadeemError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(info.get("message", "")))  # the message as the server said
    for attr in _ERROR_ATTRS:
        if attr in info:
            setattr(exc, attr, info[attr])
    return exc
