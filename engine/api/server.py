"""`sadeem engine serve`'s API: the services of this engine process, over a Unix socket.

`POST /v1/{service}/{verb}` with `{"args": [...], "kwargs": {...}}` (engine/api/codec.py)
calls one allow-listed verb (engine/api/verbs.py) as the peer and answers `{"result": ...}`,
or `{"error": ...}` with the status of the engine's exception class. The acting user is the
peer's OS account from SO_PEERCRED (engine/api/peer.py): the request has no say in it.
`POST /v1/sql/execute` answers the result rows as an Arrow IPC stream."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import secrets
import socket
import stat
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from engine.api import codec
from engine.api.peer import Peer
from engine.api.verbs import allowed
from engine.context import Actor
from engine.errors import (
    Conflict,
    PermissionDenied,
    SadeemError,
    Unauthenticated,
    ValidationError,
    from_environment,
)
from engine.services.tokens import LOGIN_TOKEN_NAME

log = logging.getLogger("sadeem.api")
ARROW_STREAM = "application/vnd.apache.arrow.stream"
# A client asks for a read-only session with this header; it can only take rights away.
READ_ONLY_HEADER = "x-sadeem-read-only"
QUERY_HEADER = "x-sadeem-query"
# Cancels kept per user for queries not started yet (a client has a few in flight at most).
EARLY_CANCELS = 100
# How often a followed run's log is looked at, and how long a follow stays silent at most.
FOLLOW_POLL_S = 0.25
FOLLOW_KEEPALIVE_S = 2.0


@dataclass
class _Running:
    """A streaming SQL query, so its owner can cancel it from another request."""

    username: str
    query: Any


class Api:
    def __init__(self, services: Any, engine: Any | None = None) -> None:
        from engine.api.ops import Ops

        self.services = services
        self.ops = Ops(services, engine)
        self._registered: set[str] = set()
        self._lock = threading.Lock()
        self._queries: dict[str, _Running] = {}
        # Cancels that overtook their execute, per user (oldest first): one user's flood
        # of them pushes out only their own, never another user's.
        self._early: dict[str, dict[str, None]] = {}

    # --- identity ---------------------------------------------------------------------

    def actor(self, request: Request) -> Actor:
        """On the Unix socket, the peer's OS account: from the kernel (SO_PEERCRED), never
        from the request. Over HTTP, the user of the bearer token (a read-only token makes a
        read-only session)."""
        asked = self.services.settings.read_only or request.headers.get(READ_ONLY_HEADER) == "1"
        peer: Peer | None = request.scope.get("sadeem.peer")
        if peer is None or self.services.settings.auth == "password":
            # auth = "password": the site's users are Sadeem's, not the host's, so an OS
            # account on the socket proves nothing (a `useradd bob` on the bastion would act
            # as Sadeem's bob): the socket asks for a token as HTTP does.
            where = _client(request) if peer is None else f"socket:{peer.username}"
            actor = self.services.tokens.authenticate(_bearer(request), where)
            return replace(actor, read_only=actor.read_only or asked)
        actor = Actor(peer.username, "socket", read_only=asked)
        self._register(actor)
        return actor

    def _register(self, actor: Actor) -> None:
        """auth = "os": an OS account is registered on first use, as the embedded CLI does
        (the very first becomes the admin). auth = "password": only users an admin made."""
        if self.services.settings.auth != "os" or actor.username in self._registered:
            return
        self.services.users.register(actor)
        with self._lock:
            self._registered.add(actor.username)

    # --- routes -----------------------------------------------------------------------

    async def call(self, request: Request) -> Response:
        service = request.path_params["service"]
        verb = request.path_params["verb"]
        route = f"{service}.{verb}" if allowed(service, verb) is not None else "unknown"
        return await self._counted(route, lambda: self._call(request, service, verb), request)

    async def _counted(
        self, route: str, handler: Callable[[], Any], request: Request | None = None
    ) -> Response:
        started = time.monotonic()
        door = self.ops.in_flight.labels(_door(request))
        door.inc()
        try:
            response = await _answer(handler)
        finally:
            door.dec()
        self.ops.requests.labels(route, str(response.status_code)).inc()
        self.ops.latency.labels(route).observe(time.monotonic() - started)
        return response

    async def _call(self, request: Request, service: str, verb: str) -> Response:
        takes_actor = allowed(service, verb)
        if takes_actor is None:
            return _error(404, "NotFound", f"no verb {service}.{verb} on this engine")
        args, kwargs = await _arguments(request)
        actor = await anyio.to_thread.run_sync(self.actor, request)
        fn = getattr(getattr(self.services, service), verb)
        call_args = [actor, *args] if takes_actor else args
        _bind(fn, call_args, kwargs)
        try:
            result = await anyio.to_thread.run_sync(lambda: fn(*call_args, **kwargs))
        except PermissionDenied as exc:
            # The services record what was done; a refusal at the door is recorded here.
            reason = str(exc)
            await anyio.to_thread.run_sync(
                lambda: self.services.audit.refused(actor, f"{service}.{verb}", reason)
            )
            raise
        if service == "health":
            self.ops.checked(result)
        return JSONResponse({"result": codec.encode(result)})

    async def sql_execute(self, request: Request) -> Response:
        return await self._counted("sql.execute", lambda: self._sql_execute(request), request)

    async def _sql_execute(self, request: Request) -> Response:
        started = time.monotonic()
        args, kwargs = await _arguments(request)
        unknown = set(kwargs) - {"connection"}
        if unknown:
            raise ValidationError(f"unknown argument(s) {sorted(unknown)}", "sql.execute")
        actor = await anyio.to_thread.run_sync(self.actor, request)
        svc = self.services.sql
        _bind(svc.execute, [actor, *args], kwargs)
        # The client names its query (so it can cancel it before any answer has come);
        # a name that is not a plain token is replaced, and cancels are per user anyway.
        token = request.headers.get(QUERY_HEADER, "")
        if not _plain_token(token):
            token = secrets.token_urlsafe(16)
        try:
            query = await anyio.to_thread.run_sync(lambda: svc.execute(actor, *args, **kwargs))
        except BaseException:
            self._sql_done("failed", started)
            raise
        self._queries[token] = _Running(actor.username, query)
        if token in self._early.get(actor.username, {}):  # cancelled while it started
            del self._early[actor.username][token]
            await anyio.to_thread.run_sync(query.cancel)
        batches = query.batches()
        # The first batch before the answer: an error of the statement itself still gets its
        # status and class; one after it breaks the stream off (and is in the history).
        try:
            first = await _first_batch(request, query, batches)
        except BaseException:
            self._queries.pop(token, None)
            query.close()
            self._sql_done("failed", started)
            raise
        headers = {QUERY_HEADER: token}
        if query.query_id:
            headers["x-sadeem-query-id"] = str(query.query_id)
        return StreamingResponse(
            self._stream(token, query, first, batches, started),
            media_type=ARROW_STREAM,
            headers=headers,
        )

    async def _stream(
        self, token: str, query: Any, first: Any, batches: Any, started: float
    ) -> AsyncIterator[bytes]:
        import pyarrow as pa

        sink = _Chunks()
        schema = first.schema if first is not None else pa.schema([])
        writer = pa.ipc.new_stream(sink, schema)
        finished = False
        try:
            if first is not None:
                writer.write_batch(first)
                yield sink.take()
                while True:
                    batch = await anyio.to_thread.run_sync(next, batches, None)
                    if batch is None:
                        break
                    writer.write_batch(batch)
                    yield sink.take()
            writer.close()
            finished = True
            yield sink.take()
        finally:
            self._queries.pop(token, None)
            if not finished:  # the client went away or the query failed: stop it for good
                with contextlib.suppress(Exception):
                    query.cancel()
            query.close()
            self._sql_done("succeeded" if finished else "stopped", started)

    def _sql_done(self, outcome: str, started: float) -> None:
        self.ops.sql.labels(outcome).inc()
        self.ops.sql_seconds.labels(outcome).observe(time.monotonic() - started)

    async def runs_follow(self, request: Request) -> Response:
        return await self._counted("runs.follow", lambda: self._runs_follow(request), request)

    async def _runs_follow(self, request: Request) -> Response:
        """A run's log as it grows, as JSON lines: `{"chunk": LogChunk}` for each new chunk,
        then `{"run": RunView}` once the run has ended (its last lines before it). A blank
        line now and then while nothing happens, so a client that went away is noticed."""
        args, kwargs = await _arguments(request)
        actor = await anyio.to_thread.run_sync(self.actor, request)  # who, before what
        if set(kwargs) - {"after_seq"}:
            raise ValidationError("unknown argument(s)", "runs.follow")
        if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
            raise ValidationError("runs.follow takes one run id", "runs.follow")
        after = kwargs.get("after_seq", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise ValidationError("after_seq must be a whole number", "after_seq")
        runs = self.services.runs
        run_id = args[0]
        await anyio.to_thread.run_sync(lambda: runs.get(actor, run_id))  # 404/403 up front
        return StreamingResponse(
            self._follow(actor, run_id, after), media_type="application/x-ndjson"
        )

    async def _follow(self, actor: Actor, run_id: int, seq: int) -> AsyncIterator[bytes]:
        from engine.run_states import TERMINAL

        runs = self.services.runs
        quiet_since = time.monotonic()

        def read(after: int) -> list[Any]:
            return list(runs.logs(actor, run_id, after_seq=after))

        def line(key: str, value: Any) -> bytes:
            return json.dumps({key: codec.encode(value)}).encode() + b"\n"

        while True:
            chunks = await anyio.to_thread.run_sync(read, seq)
            run = None
            if not chunks:
                run = await anyio.to_thread.run_sync(lambda: runs.get(actor, run_id))
            if chunks:
                seq = chunks[-1].seq
                yield b"".join(line("chunk", c) for c in chunks)
                quiet_since = time.monotonic()
                continue  # more may be there already (a page is 1000 chunks)
            assert run is not None
            if run.state in TERMINAL:
                # What it logged between the read above and its end comes first.
                while tail := await anyio.to_thread.run_sync(read, seq):
                    seq = tail[-1].seq
                    yield b"".join(line("chunk", c) for c in tail)
                yield line("run", run)
                return
            if time.monotonic() - quiet_since >= FOLLOW_KEEPALIVE_S:
                yield b"\n"
                quiet_since = time.monotonic()
            await anyio.sleep(FOLLOW_POLL_S)

    async def sql_script(self, request: Request) -> Response:
        return await self._counted("sql.script", lambda: self._sql_script(request))

    async def _sql_script(self, request: Request) -> Response:
        """Check every statement of a script (nothing runs) and answer them; the client then
        runs them one by one through /v1/sql/execute, so a refused statement in a script
        refuses it before its first statement runs, as embedded."""
        args, kwargs = await _arguments(request)
        if set(kwargs) - {"connection"}:
            raise ValidationError("unknown argument(s)", "sql.script")
        actor = await anyio.to_thread.run_sync(self.actor, request)
        svc = self.services.sql
        _bind(svc.script, [actor, *args], kwargs)
        script = await anyio.to_thread.run_sync(lambda: svc.script(actor, *args, **kwargs))
        statements = script.statements
        script.close()  # none started
        return JSONResponse({"result": codec.encode(statements)})

    async def sql_cancel(self, request: Request) -> Response:
        return await self._counted("sql.cancel", lambda: self._sql_cancel(request))

    async def _sql_cancel(self, request: Request) -> Response:
        args, _ = await _arguments(request)
        actor = await anyio.to_thread.run_sync(self.actor, request)
        token = str(args[0]) if args else ""
        running = self._queries.get(token)
        if running is None:
            # Not started yet (the cancel overtook its execute): cancelled when it starts.
            if not _plain_token(token):  # no execute takes that name: nothing to keep
                return JSONResponse({"result": None})
            mine = self._early.setdefault(actor.username, {})
            mine[token] = None
            while len(mine) > EARLY_CANCELS:
                del mine[next(iter(mine))]
            return JSONResponse({"result": None})
        if running.username != actor.username:
            return _error(404, "NotFound", "no such running query of yours")
        await anyio.to_thread.run_sync(running.query.cancel)
        return JSONResponse({"result": None})

    async def login(self, request: Request) -> Response:
        return await self._counted("login", lambda: self._login(request))

    async def _login(self, request: Request) -> Response:
        """auth = "password" over HTTP: a user name and password for a short-lived token
        (`login_token_s`), stored and checked like a personal access token. GET says
        whether this engine takes logins, so a client asks before prompting a password."""
        settings = self.services.settings
        offered = settings.auth == "password"
        if request.method == "GET":
            seconds = settings.login_token_s if offered else None
            return JSONResponse({"result": {"auth": settings.auth, "token_seconds": seconds}})
        if not offered:
            raise PermissionDenied(
                f'this engine takes no password logins (auth = "{settings.auth}"): use a '
                "personal access token from `sadeem token create`"
            )
        username, password = await _credentials(request)
        client = _client(request)
        read_only = request.headers.get(READ_ONLY_HEADER) == "1"

        def log_in() -> Any:
            users, tokens = self.services.users, self.services.tokens
            try:
                actor = users.login(username, password, source="http", client=client)
            except PermissionDenied as exc:  # wrong, unknown or locked: no credentials
                raise Unauthenticated(str(exc)) from None
            return tokens.create(
                replace(actor, read_only=read_only),
                name=LOGIN_TOKEN_NAME,
                expires_in_s=settings.login_token_s,
                read_only=read_only,
            )

        made = await anyio.to_thread.run_sync(log_in)
        view = made.view
        return JSONResponse(
            {
                "result": {
                    "token": made.token,
                    "id": view.id,
                    "username": view.username,
                    "read_only": view.read_only,
                    "expires_at": view.expires_at.isoformat() if view.expires_at else None,
                }
            }
        )

    async def openapi(self, request: Request) -> Response:
        from engine.api.openapi import describe

        return JSONResponse(describe(self.services))

    def app(self) -> Starlette:
        return Starlette(
            exception_handlers={HTTPException: _http_error},
            routes=[
                Route("/healthz", self.ops.healthz, methods=["GET"]),
                Route("/readyz", self.ops.readyz, methods=["GET"]),
                Route("/metrics", self.ops.metrics, methods=["GET"]),
                Route("/openapi.json", self.openapi, methods=["GET"]),
                Route("/v1/login", self.login, methods=["GET", "POST"]),
                Route("/v1/sql/execute", self.sql_execute, methods=["POST"]),
                Route("/v1/sql/cancel", self.sql_cancel, methods=["POST"]),
                Route("/v1/sql/script", self.sql_script, methods=["POST"]),
                Route("/v1/runs/follow", self.runs_follow, methods=["POST"]),
                Route("/v1/{service}/{verb}", self.call, methods=["POST"]),
            ],
        )


async def _first_batch(request: Request, query: Any, batches: Any) -> Any:
    """The first batch (None: no rows), or the query cancelled if the client goes away while
    it is awaited: a COUNT(*) over a big table sends nothing until it is done, and a Ctrl-C
    on the client must still stop it here."""
    outcome: dict[str, Any] = {}

    async def fetch(scope: anyio.CancelScope) -> None:
        try:
            outcome["batch"] = await anyio.to_thread.run_sync(next, batches, None)
        except BaseException as exc:  # re-raised below, outside the task group
            outcome["error"] = exc
        scope.cancel()

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(0.2)
        await anyio.to_thread.run_sync(query.cancel)  # fetch's next() then ends

    async with anyio.create_task_group() as group:
        group.start_soon(fetch, group.cancel_scope)
        group.start_soon(watch)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("batch")


class _Chunks:
    """A file-like sink for pyarrow's IPC writer that hands back what was written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def _plain_token(token: str) -> bool:
    """Whether `token` is a query name a client may choose (8 to 64 of [A-Za-z0-9_-])."""
    return 8 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()


def _door(request: Request | None) -> str:
    """Which door a request came in by: the Unix socket (a kernel-vouched peer) or HTTP."""
    return "socket" if request is not None and request.scope.get("sadeem.peer") else "http"


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else ""


def _json(raw: bytes) -> Any:
    """A request body's JSON, refused as a ValueError when nested deeper than Python's
    stack allows or when a string holds a lone surrogate (`"\\ud800"`: valid JSON that
    no database driver, file name or log line can encode)."""
    try:
        body = json.loads(raw)
        json.dumps(body, ensure_ascii=False).encode()
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeEncodeError:
        raise ValueError("a string is not valid Unicode (a lone surrogate)") from None
    return body


async def _arguments(request: Request) -> tuple[list[Any], dict[str, Any]]:
    try:
        body = _json(await request.body() or b"{}")
        args = codec.decode(body.get("args", []))
        kwargs = {str(k): codec.decode(v) for k, v in body.get("kwargs", {}).items()}
    except RecursionError:  # json.loads took it, the codec's own walk did not
        raise ValidationError("unreadable request: nested too deeply", "request") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(f"unreadable request: {exc}", "request") from None
    if not isinstance(args, list):
        raise ValidationError("args must be a list", "request")
    if "actor" in kwargs:  # who acts is the socket's peer; a client cannot name it
        raise ValidationError("the acting user is not an argument", "actor")
    return args, kwargs


# A password longer than this is refused unread (scrypt reads all of it).
MAX_PASSWORD = 1024


async def _credentials(request: Request) -> tuple[str, str]:
    """`{"username": ..., "password": ...}` from a login's body; anything else is refused
    in one line that never repeats the password."""
    try:
        body = _json(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object with username and password", "login")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not username:
        raise ValidationError("a non-empty string is required", "username")
    if not isinstance(password, str) or not password:
        raise ValidationError("a non-empty string is required", "password")
    for field, value in (("username", username), ("password", password)):
        if len(value) > MAX_PASSWORD:
            raise ValidationError(f"at most {MAX_PASSWORD} characters", field)
    extra = set(body) - {"username", "password"}
    if extra:
        raise ValidationError(f"unknown field(s) {sorted(extra)}", "login")
    return username, password


def _bind(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse arguments the verb does not take, as a ValidationError, before calling it."""
    from engine.api.argcheck import check

    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise ValidationError(str(exc), "request") from None
    check(fn, bound)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, a method the route does not take) in the
    engine's error shape: one message, never a bare text body."""
    status = getattr(exc, "status_code", 500)
    if status == 404:
        return _error(404, "NotFound", f"no route {request.url.path} on this engine")
    if status == 405:
        allowed = getattr(exc, "headers", None) or {}
        hint = f": use {allowed['Allow']}" if "Allow" in allowed else ""
        message = f"{request.method} is not allowed on {request.url.path}{hint}"
        return JSONResponse(
            {"error": {"class": "ValidationError", "message": message}}, 405, headers=allowed
        )
    detail = str(getattr(exc, "detail", "") or "refused")
    return _error(status, "ValidationError" if status < 500 else "internal", detail)


def _error(status: int, cls: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"class": cls, "message": message, **extra}}, status)


async def _answer(handler: Callable[[], Any]) -> Response:
    """The handler's response, or the engine's exception as its status and class."""
    try:
        return await handler()
    except SadeemError as exc:
        return JSONResponse(codec.encode_error(exc), codec.status_of(exc))
    except Exception as exc:
        known = from_environment(exc)
        if known is not None:
            return JSONResponse(codec.encode_error(known), codec.status_of(known))
        log.exception("internal error")
        return _error(
            500,
            "internal",
            f"internal error ({exc.__class__.__name__}); see the engine's log",
            internal=True,
        )


# --- listening -------------------------------------------------------------------------


def bind_unix(path: Path) -> socket.socket:
    """A listening socket at `path`, mode 0666 (who may act is decided per request, from
    the peer's account), its directory created. A stale socket file is replaced; a live
    one (another engine serving) is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ValidationError(f"{path} exists and is not a socket", "socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody listens: left by an engine that was killed
        else:
            raise Conflict(f"another engine already serves on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, 0o666)
    sock.listen(128)
    return sock


def bind_tcp(address: str) -> socket.socket:
    """A listening TCP socket for `HOST:PORT` (`--http 0.0.0.0:8080`)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"{address!r}: expected HOST:PORT", "--http")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise ValidationError(f"cannot listen on {address}: {exc.strerror}", "--http") from None
    sock.listen(128)
    return sock


def serve(
    services: Any,
    unix: socket.socket,
    http: socket.socket | None = None,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    engine: Any | None = None,
    log_level: str = "info",
) -> None:
    """Serve the API until SIGTERM or SIGINT: on the Unix socket in the clear (the kernel
    vouches for the peer), on HTTP with TLS when a certificate is configured."""
    import asyncio
    import signal

    import uvicorn

    from engine.api.peer import _uvicorn_protocol

    api = Api(services, engine)
    app = api.app()
    connections = api.ops.connections
    base = _uvicorn_protocol()

    class Protocol(base):  # type: ignore[misc, valid-type]
        """Counts the open client connections per door (the active sessions of /metrics)."""

        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            self._door = "socket" if sock is not None and sock.family == socket.AF_UNIX else "http"
            connections.labels(self._door).inc()
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            connections.labels(self._door).dec()
            super().connection_lost(exc)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:  # one handler below stops both listeners
            yield

    def server(**tls: Any) -> Server:
        config = uvicorn.Config(
            app,
            http=Protocol,
            lifespan="off",
            log_level=log_level,
            # uvicorn's records go through the engine's own handlers (text or JSON lines),
            # never a format of uvicorn's beside them.
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
            **tls,
        )
        return Server(config)

    servers = [(server(), unix)]
    if http is not None:
        tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
        servers.append((server(**tls), http))

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for s, _ in servers:
                s.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        await asyncio.gather(*(s.serve(sockets=[sock]) for s, sock in servers))

    asyncio.run(main())
