"""Trino through the `trino` client's protocol layer (TrinoRequest): the statement is
POSTed in `execute`, so the query id is known the moment Trino accepts it; pages are pulled
from `nextUri` as the caller reads; cancel is a DELETE the server acts on.

Who Trino sees: the session user (`X-Trino-User`) is the acting Sadeem user, so Trino's own
access control and resource groups apply to them; with a password, the connection's `user`
is the principal that authenticates and Trino must allow it to impersonate Sadeem users.
Client tags (`interactive`, `batch`) select the resource group; the source is `sadeem`."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from engine.backends.base import HealthResult, QueryContext, QueryProgress
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.backends.net_errors import classify
from engine.errors import BackendError, QueryCancelled, QueryError, ValidationError
from engine.lazy_imports import import_once
from engine.run_states import RunState

TRINO_MODULES = ("requests", "trino.auth", "trino.client", "trino.exceptions")

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 10_000
# Trino's final query states as run states (a cancelled query ends FAILED, USER_CANCELED).
_DONE = {"FINISHED": RunState.SUCCEEDED, "FAILED": RunState.FAILED}

# What may stand in a header value Sadeem builds: visible ASCII, spaces only inside. Trino
# user names are otherwise free (e-mail, LDAP names); CR/LF would let a name add headers.
HEADER_TEXT = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# A client tag also may not hold the comma that separates tags in X-Trino-Client-Tags.
CLIENT_TAG = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
IMPERSONATION_HINT = (
    "; Trino's impersonation rules must let the connection's user act as Sadeem's users "
    "(or leave the connection's password empty)"
)


def header_text(
    value: object, what: str, field: str, pattern: re.Pattern[str] = HEADER_TEXT
) -> str:
    """`value` if it can travel in an HTTP header as is; else one clear ValidationError."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(
            f"{what} {value!r} cannot be sent to Trino: only visible ASCII characters"
            + (", no comma" if pattern is CLIENT_TAG else ""),
            field,
        )
    return value


def arrow_type(signature: dict[str, Any]) -> pa.DataType:
    """Arrow type for a Trino type signature; complex types travel as JSON text."""
    import pyarrow as pa

    raw = signature.get("rawType", "varchar")
    args = [a.get("value") for a in signature.get("arguments", [])]
    simple = {
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "smallint": pa.int16(),
        "tinyint": pa.int8(),
        "double": pa.float64(),
        "real": pa.float32(),
        "boolean": pa.bool_(),
        "varchar": pa.string(),
        "char": pa.string(),
        "date": pa.date32(),
        "varbinary": pa.binary(),
        "uuid": pa.string(),
    }
    if raw in simple:
        return simple[raw]
    if raw == "decimal" and len(args) == 2:
        return pa.decimal128(
            int(args[0]["value"] if isinstance(args[0], dict) else args[0]),
            int(args[1]["value"] if isinstance(args[1], dict) else args[1]),
        )
    if raw == "timestamp":
        return pa.timestamp("us")
    if raw == "timestamp with time zone":
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _convert(value: Any, kind: pa.DataType) -> Any:
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_date32(kind):
        return dt.date.fromisoformat(value)
    if pa.types.is_timestamp(kind):
        text = str(value).replace(" UTC", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed
    if pa.types.is_decimal(kind):
        return decimal.Decimal(value)
    if pa.types.is_binary(kind):
        return base64.b64decode(value)
    if pa.types.is_string(kind) and not isinstance(value, str):
        return json.dumps(value)
    return value


class TrinoQuery:
    """One statement on the coordinator. Thread-safe cancel."""

    def __init__(
        self,
        request: Any,
        status: Any,
        ui_base: str,
        on_progress: Callable[[QueryProgress], None] | None,
    ) -> None:
        self._request = request
        self._status = status
        self._ui_base = ui_base
        self._on_progress = on_progress
        self._columns = status.columns
        self._rows: list[list[Any]] = list(status.rows or [])
        self._next_uri: str | None = status.next_uri
        self._stats: dict[str, Any] = status.stats or {}
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._schema: pa.Schema | None = None
        self._report()

    @property
    def query_id(self) -> str | None:
        return self._status.id

    @property
    def ui_link(self) -> str | None:
        return f"{self._ui_base}/ui/query.html?{self._status.id}"

    def progress(self) -> QueryProgress:
        s = self._stats
        return QueryProgress(
            state="CANCELLED" if self._cancelled.is_set() else s.get("state", "QUEUED"),
            percent=s.get("progressPercentage"),
            rows=int(s.get("processedRows", 0)),
            bytes=int(s.get("processedBytes", 0)),
            elapsed_s=int(s.get("elapsedTimeMillis", 0)) / 1000,
        )

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def cancel(self) -> None:
        """DELETE the current nextUri: Trino stops the query on every worker."""
        uri = self._next_uri
        if not uri:
            return  # it ended on the server already: a finished query stays FINISHED
        try:
            self._request.delete(uri)
        except Exception as exc:
            # It did not reach the coordinator: the query still runs there, so the reader
            # goes on and the run's watch sends the DELETE again.
            kind, message = classify(exc)
            raise BackendError(f"cancel of {self.query_id}: {message}", kind=kind) from None
        # Only now may the reader stop: a run is recorded cancelled after the DELETE went
        # out, never before (a run said cancelled while Trino still ran it).
        self._cancelled.set()

    def _advance(self) -> bool:
        """Fetch the next page into the buffer; False when the query has ended."""
        if self._cancelled.is_set():
            raise QueryCancelled(f"query {self.query_id} cancelled")
        if not self._next_uri:
            return False
        import trino.exceptions as tx

        try:
            status = self._request.process(self._request.get(self._next_uri))
        except tx.TrinoQueryError as exc:
            if exc.error_name == "USER_CANCELED" or self._cancelled.is_set():
                raise QueryCancelled(f"query {self.query_id} cancelled") from None
            raise _query_error(exc) from None
        except Exception as exc:
            raise _http_error(exc) from None
        self._stats = status.stats or self._stats
        self._next_uri = status.next_uri
        if status.columns and not self._columns:
            self._columns = status.columns
        self._rows.extend(status.rows or [])
        self._report()
        return True

    def schema(self) -> pa.Schema:
        import pyarrow as pa

        while self._columns is None and self._advance():
            pass
        if self._schema is None:
            cols = self._columns or []
            self._schema = pa.schema(
                [(c["name"], arrow_type(c.get("typeSignature", {}))) for c in cols]
            )
        return self._schema

    def _batch(self, rows: list[list[Any]]) -> pa.RecordBatch:
        import pyarrow as pa

        schema = self.schema()
        arrays = [
            pa.array([_convert(r[i], f.type) for r in rows], type=f.type)
            for i, f in enumerate(schema)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def batches(self) -> Iterator[pa.RecordBatch]:
        sent = False
        while True:
            with self._lock:
                more = True
                while len(self._rows) < BATCH_ROWS and more:
                    more = self._advance()
                rows, self._rows = self._rows[:BATCH_ROWS], self._rows[BATCH_ROWS:]
            if rows or not (more or sent):  # no row at all: one empty batch, its columns
                sent = True
                yield self._batch(rows)
            if not more and not self._rows:
                return

    def fetch(self, max_rows: int | None = None) -> pa.Table:
        import pyarrow as pa

        with self._lock:
            while (max_rows is None or len(self._rows) < max_rows) and self._advance():
                pass
            take = len(self._rows) if max_rows is None else min(max_rows, len(self._rows))
            rows, self._rows = self._rows[:take], self._rows[take:]
        schema = self.schema()
        if not rows:
            return schema.empty_table()
        return pa.Table.from_batches([self._batch(rows)], schema=schema)


class TrinoBackend:
    """SqlBackend for a Trino coordinator."""

    def __init__(
        self,
        host: str,
        port: int = 8080,
        http_scheme: str = "http",
        user_default: str | None = None,
        password: str | None = None,
        catalog: str | None = None,
        verify_tls: bool = True,
        request_timeout: float = 30,
        ui_base_url: str | None = None,
    ) -> None:
        if password and http_scheme != "https":
            raise ValidationError(
                "password authentication needs http_scheme=https "
                "(Trino refuses passwords over plain HTTP)",
                "config.password",
            )
        if password and not user_default:
            # The password is the connection's, so it authenticates the connection's user;
            # never a Sadeem user's name with a password that is not theirs.
            raise ValidationError(
                "a Trino password needs the connection's user (the principal it authenticates)",
                "config.user",
            )
        if user_default is not None:
            header_text(user_default, "Trino user", "config.user")
        # Every query path imports trino (and requests); load them here, once, under the lock.
        import_once(*TRINO_MODULES)
        self.host, self.port, self.http_scheme = host, int(port), http_scheme
        self.user_default = user_default
        self._password = password
        self.catalog = catalog
        self.verify_tls = verify_tls
        self.request_timeout = request_timeout
        self.ui_base = (ui_base_url or f"{http_scheme}://{host}:{port}").rstrip("/")

    def __repr__(self) -> str:
        return f"TrinoBackend({self.http_scheme}://{self.host}:{self.port})"

    def close(self) -> None:
        pass

    def _request(self, ctx: QueryContext) -> Any:
        import requests
        from trino.auth import BasicAuthentication
        from trino.client import ClientSession, TrinoRequest

        # Checked before anything is sent: a name or tag that is not header text never
        # reaches the wire (requests would refuse CR/LF too, but with a traceback's words).
        session = ClientSession(
            user=header_text(ctx.user or self.user_default or "sadeem", "user", "user"),
            catalog=ctx.catalog or self.catalog,
            schema=ctx.schema,
            source=header_text(ctx.source, "source", "source"),
            client_tags=[
                header_text(t, "client tag", "client_tags", CLIENT_TAG) for t in ctx.client_tags
            ],
        )
        auth = None
        if self._password and self.user_default:
            # The connection's user authenticates; the session user above is who Trino
            # runs the query as (impersonation, when it differs).
            auth = BasicAuthentication(self.user_default, self._password)
        http = requests.Session()
        http.verify = self.verify_tls
        if not self.verify_tls:
            # requests lets REQUESTS_CA_BUNDLE override verify=False; an explicit choice wins.
            http.trust_env = False
        return TrinoRequest(
            self.host,
            self.port,
            session,
            http_session=http,
            http_scheme=self.http_scheme,
            auth=auth,
            max_attempts=1,
            request_timeout=self.request_timeout,
        )

    def execute(
        self,
        sql: str,
        ctx: QueryContext,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> TrinoQuery:
        """Submit the statement; returns once Trino has accepted it (query id known)."""
        import trino.exceptions as tx

        request = self._request(ctx)
        try:
            status = request.process(request.post(sql))
        except tx.TrinoQueryError as exc:
            raise _query_error(exc) from None
        except Exception as exc:
            raise _http_error(exc) from None
        return TrinoQuery(request, status, self.ui_base, on_progress)

    def query_state(self, query_id: str, user: str | None = None) -> str | None:
        """The server's state of any query by id (re-adoption after a crash); None if gone.
        Asked as the query's own user when known: Trino lets a user see their own queries."""
        request = self._request(QueryContext(user=user or self.user_default or "sadeem"))
        try:
            resp = request.get(f"{request.get_url('/v1/query/')}{query_id}")
        except Exception as exc:
            raise _http_error(exc) from None
        if resp.status_code == 404:
            return None
        if resp.status_code in (401, 403):
            raise BackendError(f"Trino refused the query lookup ({resp.status_code})", "auth")
        return resp.json().get("state")

    def cancel_query(self, query_id: str, user: str | None = None) -> None:
        """Kill a query by id, as its own user when known (Trino lets a user kill theirs)."""
        request = self._request(QueryContext(user=user or self.user_default or "sadeem"))
        try:
            request.delete(f"{request.get_url('/v1/query/')}{query_id}")
        except Exception as exc:
            raise _http_error(exc) from None

    # -- Reattachable: a query outlives the engine that sent it ---------------------------

    def external_state(self, external_id: str, user: str | None = None) -> str | None:
        """The query's state as a run state; None when the server no longer knows it."""
        state = self.query_state(external_id, user)
        if state is None:
            return None
        return _DONE.get(state, RunState.RUNNING)

    def cancel_external(self, external_id: str, user: str | None = None) -> None:
        self.cancel_query(external_id, user)

    def test(self) -> HealthResult:
        """Version from /v1/info, then a `SELECT 1` to prove auth; latency of both."""
        start = time.perf_counter()
        request = self._request(QueryContext(user=self.user_default or "sadeem"))
        try:
            info = request.get(request.get_url("/v1/info"))
            if info.status_code == 401:
                return HealthResult(
                    False, detail="Trino refused the credentials (401)", error_kind="auth"
                )
            version = info.json().get("nodeVersion", {}).get("version")
            query = self.execute(
                "SELECT 1",
                QueryContext(user=self.user_default or "sadeem", client_tags=("health",)),
            )
            query.fetch()
        except BackendError as exc:
            return HealthResult(False, detail=str(exc), error_kind=exc.kind)
        except Exception as exc:
            kind, message = classify(exc)
            return HealthResult(False, detail=message, error_kind=kind)
        return HealthResult(
            True, (time.perf_counter() - start) * 1000, f"Trino {version}", self.ui_base
        )


def _query_error(exc: Any) -> QueryError:
    location = exc.error_location or (None, None)
    message = str(exc.message or "query failed")
    if exc.error_name == "PERMISSION_DENIED" and "cannot impersonate" in message:
        message += IMPERSONATION_HINT  # Trino's line names both users; say what fixes it
    return QueryError(message, line=location[0], column=location[1], error_name=exc.error_name)


def _http_error(exc: Exception) -> BackendError:
    import trino.exceptions as tx

    if isinstance(exc, tx.HttpError) and "401" in str(exc).split(":")[0]:
        return BackendError("Trino refused the credentials (401)", kind="auth")
    if isinstance(exc, tx.HttpError) and "403" in str(exc).split(":")[0]:
        return BackendError("Trino forbids this (403)", kind="forbidden")
    kind, message = classify(exc)
    return BackendError(f"Trino: {message}", kind=kind)


def _build(config: dict[str, Any], inputs: BuildInputs) -> TrinoBackend:
    return TrinoBackend(
        host=config["host"],
        port=config["port"],
        http_scheme=config["http_scheme"],
        user_default=config.get("user"),
        password=config.get("password"),
        catalog=config["catalog"],
        verify_tls=config["verify_tls"],
        ui_base_url=config.get("ui_base_url"),
        request_timeout=float(config["timeout_s"]),
    )


KIND = register(
    Kind(
        "trino",
        "sql",
        (
            Field("host", required=True),
            Field("port", "int", default=8080, minimum=1, maximum=65535),
            Field("http_scheme", "enum", default="http", choices=("http", "https")),
            Field(
                "user",
                help="the principal a password authenticates; queries run as the Sadeem user",
            ),
            Field("password", secret=True),
            Field("catalog", default="iceberg", help="the Trino catalog of the Iceberg tables"),
            Field("verify_tls", "bool", default=True),
            Field("ui_base_url", "url"),
        ),
        _build,
        summary="a Trino coordinator",
        # A Trino password authenticates the connection's user, the principal that then
        # impersonates Sadeem users.
        needs=(("password", "user", "the principal the password authenticates"),),
        dialect="trino",
    )
)
