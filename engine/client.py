"""A thin client: the engine's services, called on a `sadeem engine serve` over its socket.

`RemoteServices` has the attributes the CLI uses on `Services` (`workspaces`, `runs`,
`sql`, ...) and the same verbs with the same arguments; each call is one request. It never
opens the metadata database, never reads the key file and never resolves a secret: all of
that stays in the engine process. Who acts is decided by the server from the socket's peer,
so the `Actor` a caller passes is not sent (only its read-only wish, which takes rights
away and never adds any)."""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api import codec
from engine.context import Actor
from engine.errors import MetadataUnavailable, QueryError, ValidationError

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

    from engine.backends.base import QueryProgress
    from engine.settings import Settings

READ_ONLY_HEADER = "x-sadeem-read-only"  # the same as engine/api/server.py's
QUERY_HEADER = "x-sadeem-query"


class EngineInternalError(Exception):
    """The engine failed with a bug of its own (HTTP 500): the CLI's "internal error"."""


def parse_server(value: str) -> tuple[str, str]:
    """("unix", path) for `unix:/path`, ("http", url) for `http(s)://host:port`; anything
    else is refused with the forms accepted."""
    if value.startswith("unix:") and value[5:].startswith("/"):
        return "unix", value[5:]
    if value.startswith(("https://", "http://")) and len(value.split("://", 1)[1]) > 0:
        return "http", value.rstrip("/")
    raise ValidationError(
        f"{value!r}: expected unix:/path/to/engine.sock or https://host:port", "--server"
    )


def read_token(path: str | None) -> str:
    """The bearer token from `token_file` (a file, not the environment or a flag: those
    show in /proc and in shell history); unset, the file `sadeem login` writes, if any."""
    if not path:
        from engine.settings import default_token_file

        fallback = default_token_file()
        if not fallback.is_file():
            raise ValidationError(
                'an http(s) server needs a token: `sadeem login` (auth = "password") writes '
                f"one to {fallback}, or set token_file (SADEEM_TOKEN_FILE) to a file holding "
                "one from `sadeem token create`",
                "token_file",
            )
        path = str(fallback)
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", "token_file") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path} does not hold a token (not text)", "token_file") from None


def write_token(path: Path, token: str) -> None:
    """Write `token` to `path`, mode 0600 from its first byte (a temporary file in the same
    directory, renamed over it), the directory made 0700 if missing."""
    import os
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-")  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(token + "\n")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ValidationError(
            f"cannot write {path}: {exc.strerror or exc.__class__.__name__}", "token_file"
        ) from None


def http_client(target: str, ca: str | None, timeout: Any = None) -> httpx.Client:
    """An httpx client for an http(s):// engine, trusting `ca` (a PEM bundle) when given,
    else the system's CAs. A CA file that cannot be read is refused by name."""
    import ssl

    import httpx

    verify: ssl.SSLContext | bool = True
    if ca:
        try:
            verify = ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise ValidationError(
                f"cannot use {ca} as a CA bundle: {reason}", "server_ca"
            ) from None
    return httpx.Client(
        base_url=target, timeout=timeout or httpx.Timeout(30.0, connect=10.0), verify=verify
    )


def server_client(server: str, ca: str | None, timeout: Any = None) -> httpx.Client:
    """An httpx client for `server`, a Unix socket or an http(s) URL."""
    import httpx

    kind, target = parse_server(server)
    if kind == "unix":
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=target),
            base_url="http://sadeem",
            timeout=timeout or httpx.Timeout(30.0, connect=10.0),
        )
    return http_client(target, ca, timeout)


def socket_token(path: str | None) -> dict[str, str]:
    """The token a socket client sends when it has one (`sadeem login` on a password site
    writes it): an engine with auth = "password" asks for it on the socket too, since an
    OS account there says nothing of who the Sadeem user is. None on file: no header."""
    from engine.settings import default_token_file

    if not path and not default_token_file().is_file():
        return {}
    return {"Authorization": f"Bearer {read_token(path)}"}


def unreachable(server: str, exc: Exception) -> MetadataUnavailable:
    """One line for a transport failure, with the likely fix for the TLS ones."""
    reason = (str(exc) or exc.__class__.__name__).splitlines()[0]
    text = reason.lower()
    if "certificate verify failed" in text or "certificate_verify_failed" in text:
        reason += (
            "; the engine's certificate is not signed by a CA this client trusts: set "
            "server_ca (SADEEM_SERVER_CA) to the site's CA bundle"
        )
    elif (
        "wrong version number" in text or "record layer failure" in text or ("http_request" in text)
    ):
        reason += "; the engine speaks plain HTTP there: use http://, or configure its TLS"
    elif server.startswith("http://") and (
        "disconnected without sending" in text or "connection reset" in text
    ):
        reason += "; the engine may serve HTTPS there: use https://"
    return MetadataUnavailable(f"cannot reach the engine at {server}: {reason}")


def login_offered(server: str, ca: str | None) -> dict[str, Any]:
    """What an engine says of logins: `{"auth": ..., "token_seconds": ...}`."""
    import httpx

    with server_client(server, ca) as http:
        try:
            response = http.get("/v1/login")
        except httpx.TransportError as exc:
            raise unreachable(server, exc) from None
        if response.status_code == 404:
            raise ValidationError(f"{server} takes no logins (an older engine?)", "--server")
        _check(response)
        return dict(response.json()["result"])


def login(
    server: str, ca: str | None, username: str, password: str, *, read_only: bool = False
) -> dict[str, Any]:
    """Log in to an engine: its answer, holding a short-lived token."""
    import httpx

    headers = {READ_ONLY_HEADER: "1"} if read_only else {}
    with server_client(server, ca, httpx.Timeout(60.0, connect=10.0)) as http:
        try:
            response = http.post(
                "/v1/login", json={"username": username, "password": password}, headers=headers
            )
        except httpx.TransportError as exc:
            raise unreachable(server, exc) from None
        _check(response)
        return dict(response.json()["result"])


def _check(response: httpx.Response) -> None:
    if response.status_code == 200:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 500 and isinstance(error, dict) and error.get("internal"):
        raise EngineInternalError(str(error.get("message", "internal error")))
    raise codec.decode_error(body, response.status_code)


class Transport:
    """One httpx client on the engine's socket or URL; errors become the engine's classes."""

    def __init__(
        self,
        server: str,
        *,
        read_only: bool = False,
        token_file: str | None = None,
        ca: str | None = None,
    ) -> None:
        import httpx

        self.server = server
        kind, target = parse_server(server)
        self.read_only = read_only
        # Reads may be long (a health check of every connection, a big run log).
        timeout = httpx.Timeout(300.0, connect=10.0)
        if kind == "unix":
            self._auth: dict[str, str] = socket_token(token_file)
            self._http = server_client(server, ca, timeout)
        else:
            self._auth = {"Authorization": f"Bearer {read_token(token_file)}"}
            self._http = http_client(target, ca, timeout)

    def headers(self) -> dict[str, str]:
        return {**self._auth, **({READ_ONLY_HEADER: "1"} if self.read_only else {})}

    def body(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        # The Actor a caller passes stands for "whoever I am": the server knows that.
        sent = [a for a in args if not isinstance(a, Actor)]
        if any(isinstance(a, Actor) and a.read_only for a in args):
            self.read_only = True
        return json.dumps(
            {"args": codec.encode(sent), "kwargs": {k: codec.encode(v) for k, v in kwargs.items()}}
        ).encode()

    def call(self, service: str, verb: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.post(f"/v1/{service}/{verb}", args, kwargs)

    def post(self, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import httpx

        content = self.body(args, kwargs)
        try:
            response = self._http.post(path, content=content, headers=self.headers())
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        self.check(response)
        return codec.decode(response.json()["result"])

    def stream(
        self, path: str, args: tuple[Any, ...], kwargs: dict[str, Any], extra: dict[str, str]
    ) -> httpx.Response:
        import httpx

        request = self._http.build_request(
            "POST",
            path,
            content=self.body(args, kwargs),
            headers={**self.headers(), **extra},
            timeout=httpx.Timeout(None, connect=10.0),  # a query may take its time
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        if response.status_code != 200:
            response.read()
            response.close()
            self.check(response)
        return response

    def check(self, response: httpx.Response) -> None:
        _check(response)

    def unreachable(self, exc: Exception) -> MetadataUnavailable:
        return unreachable(self.server, exc)

    def close(self) -> None:
        self._http.close()


class _Service:
    """`services.NAME`: every attribute is a verb of that service on the engine."""

    def __init__(self, transport: Transport, name: str) -> None:
        self._transport = transport
        self._name = name

    def __getattr__(self, verb: str) -> Callable[..., Any]:
        if verb.startswith("_"):
            raise AttributeError(verb)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._transport.call(self._name, verb, args, kwargs)

        call.__name__ = verb
        return call


class _Sql(_Service):
    def execute(
        self,
        actor: Actor,
        workspace: str,
        sql: str,
        *,
        connection: str | None = None,
        **_local: Any,  # on_progress, client_tag: the engine decides these for a client
    ) -> RemoteQuery:
        kwargs = {"connection": connection} if connection else {}
        return RemoteQuery(self._transport, (actor, workspace, sql), kwargs)

    def script(
        self,
        actor: Actor,
        workspace: str,
        sql: str,
        *,
        connection: str | None = None,
        **_local: Any,
    ) -> RemoteScript:
        kwargs = {"connection": connection} if connection else {}
        statements = self._transport.post("/v1/sql/script", (actor, workspace, sql), kwargs)
        return RemoteScript(self._transport, actor, workspace, statements, connection)


class _Runs(_Service):
    def follow(self, actor: Actor, run_id: int, after_seq: int = 0) -> Iterator[Any]:
        """The run's log chunks as the engine streams them while the run goes on, then the
        run itself (a RunView) once it has ended. Closing the iterator (or Ctrl-C in it)
        drops the stream; the run is not touched."""
        response = self._transport.stream(
            "/v1/runs/follow", (actor, run_id), {"after_seq": after_seq}, {}
        )
        try:
            for raw in response.iter_lines():
                if not raw.strip():
                    continue  # the engine's keep-alive while the run is quiet
                ((key, value),) = json.loads(raw).items()
                yield codec.decode(value)
                if key == "run":
                    return
        except Exception as exc:
            import httpx

            if isinstance(exc, httpx.TransportError):
                raise self._transport.unreachable(exc) from None
            raise
        finally:
            response.close()
        raise self._transport.unreachable(ConnectionError("the log stream ended early"))


class RemoteScript:
    """`Script` over the socket: checked whole by the engine first, then its statements run
    one by one, each as a RemoteQuery carrying its place (`where`)."""

    def __init__(self, transport: Transport, actor: Actor, workspace: str, statements: list,
                 connection: str | None) -> None:  # fmt: skip
        self._transport = transport
        self._actor = actor
        self._workspace = workspace
        self.statements = statements
        self._kwargs = {"connection": connection} if connection else {}
        self._cancelled = False
        self.current: RemoteQuery | None = None

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[RemoteQuery]:
        from engine.errors import QueryCancelled, SadeemError, located

        for st in self.statements:
            if self._cancelled:
                raise QueryCancelled(f"cancelled before {st.label}")
            query = RemoteQuery(
                self._transport, (self._actor, self._workspace, st.sql), self._kwargs, where=st
            )
            self.current = query
            try:
                try:
                    query._open()
                except SadeemError as exc:
                    raise located(exc, st) from None
                yield query
            finally:
                query.close()
                self.current = None

    def close(self) -> None:
        self._cancelled = True
        if self.current is not None:
            self.current.close()

    def cancel(self) -> None:
        self._cancelled = True
        if self.current is not None:
            self.current.cancel()


class RemoteQuery:
    """`TrackedQuery` over the socket: rows arrive as an Arrow IPC stream."""

    def __init__(
        self, transport: Transport, args: tuple[Any, ...], kwargs: dict, where: Any = None
    ) -> None:
        self.where = where
        self._transport = transport
        self._args, self._kwargs = args, kwargs
        self._started = time.monotonic()
        # Named here, so cancel() reaches the engine even before its answer has come.
        self._token = secrets.token_urlsafe(16)
        self._query_id: str | None = None
        self._response: httpx.Response | None = None
        self._reader: Any = None
        self._rows = 0
        self._left: pa.RecordBatch | None = None
        self.cancelled = False

    def _open(self) -> None:
        """Send the statement and wait for its first rows (or its error): on first read, as
        embedded, where execute() returns at once and reading waits."""
        import pyarrow as pa

        if self._reader is not None:
            return
        try:
            self._response = self._transport.stream(
                "/v1/sql/execute", self._args, self._kwargs, {QUERY_HEADER: self._token}
            )
        except KeyboardInterrupt:
            self.cancel()
            raise
        if self.cancelled:
            from engine.errors import QueryCancelled

            self._response.close()
            raise QueryCancelled()
        self._query_id = self._response.headers.get("x-sadeem-query-id")
        raw = io.BufferedReader(_ByteStream(self._response.iter_raw()), 1 << 16)
        self._reader = pa.ipc.open_stream(raw)

    @property
    def query_id(self) -> str | None:
        return self._query_id

    @property
    def ui_link(self) -> str | None:
        return None

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def progress(self) -> QueryProgress:
        from engine.backends.base import QueryProgress

        return QueryProgress("RUNNING", rows=self._rows, elapsed_s=self.elapsed_s)

    def _next(self) -> pa.RecordBatch | None:
        self._open()
        if self._left is not None:
            batch, self._left = self._left, None
            return batch
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            return None
        except Exception as exc:  # the engine broke the stream off: the query failed there
            if self.cancelled:
                from engine.errors import QueryCancelled

                raise QueryCancelled() from None
            raise QueryError(
                "the query failed on the engine while streaming its rows "
                f"({exc.__class__.__name__}); `sadeem sql --history` has its error"
            ) from None
        self._rows += batch.num_rows
        return batch

    def batches(self) -> Iterator[pa.RecordBatch]:
        while (batch := self._next()) is not None:
            yield batch

    def fetch(self, max_rows: int | None = None) -> pa.Table:
        import pyarrow as pa

        got: list[pa.RecordBatch] = []
        count = 0
        while max_rows is None or count < max_rows:
            batch = self._next()
            if batch is None:
                break
            if max_rows is not None and count + batch.num_rows > max_rows:
                keep = max_rows - count
                self._left = batch.slice(keep)
                batch = batch.slice(0, keep)
            got.append(batch)
            count += batch.num_rows
        return pa.Table.from_batches(got, schema=self._reader.schema if self._reader else None)

    def cancel(self) -> None:
        """Stop the query on the engine (not only this stream)."""
        self.cancelled = True
        # Already finished or gone: closing the stream is then enough.
        with contextlib.suppress(Exception):
            self._transport.call("sql", "cancel", (self._token,), {})
        self.close()

    def close(self) -> None:
        if self._response is not None:
            self._response.close()


class _ByteStream(io.RawIOBase):
    """The response body as a readable file, for pyarrow's IPC reader."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class RemoteServices:
    """The services of the engine at `settings.server`, for the CLI (and the console)."""

    remote = True  # `job run --wait` starts no engine of its own: the server runs it

    def __init__(self, settings: Settings) -> None:
        assert settings.server is not None
        self.settings = settings
        self.transport = Transport(
            settings.server,
            read_only=settings.read_only,
            token_file=settings.token_file,
            ca=settings.server_ca,
        )
        for name in (
            "workspaces",
            "provisioning",
            "separation",
            "connections",
            "health",
            "users",
            "audit",
            "catalog",
            "jobs",
            "engine_state",
            "tokens",
        ):
            setattr(self, name, _Service(self.transport, name))
        self.sql = _Sql(self.transport, "sql")
        self.runs = _Runs(self.transport, "runs")

    def close(self) -> None:
        self.transport.close()
