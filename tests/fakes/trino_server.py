"""A small Trino coordinator that speaks the client protocol faithfully, for tests (no real
Trino can run on this machine).

What it implements, as Trino does: `POST /v1/statement` (reads the X-Trino-* headers),
`nextUri` paging QUEUED -> RUNNING -> FINISHED with `stats`, `columns` with type
signatures, `data` in pages, errors as Trino's error JSON with `errorLocation`, `DELETE` on
a nextUri cancels (the query ends USER_CANCELED), `GET /v1/query/{id}` for the state of any
query (also after the client went away: queries live on the server, not in a connection),
`GET /v1/info`, HTTP basic auth answering 401, and user impersonation as current Trino
checks it (io.trino.server.QuerySessionSupplier): the session user is `X-Trino-User`, the
principal is the basic-auth user; when the two differ on an authenticated server the
access control must allow the principal to impersonate the user, else the query fails when
it is dispatched (POST answers QUEUED, the next page is FAILED with PERMISSION_DENIED
"Access Denied: User P cannot impersonate user U"). Without authentication there is no
principal to check, as in Trino. Every request's headers are recorded (`requests`), the
Authorization header as the principal it names, never the password. It understands a tiny
language:

    SELECT 1                       one bigint row
    SELECT * FROM range(N)         N rows of bigint `value`, paged
    SELECT sleep(S)                runs S seconds of server time, then one row
    SELECT fail('message')         fails with GENERIC_USER_ERROR at runtime
    CREATE TABLE ... / INSERT ...  an update with updateCount
    TYPED_SQL                      one row of typed literals, encoded as Trino sends them
Anything else is a SYNTAX_ERROR at the first unknown word or unmatched `)`.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGE_ROWS = 1000


@dataclass
class FakeRequest:
    """One HTTP request as the server saw it (Authorization reduced to its principal)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    principal: str | None


@dataclass
class FakeQuery:
    id: str
    sql: str
    headers: dict[str, str]
    user: str = ""  # the session user (X-Trino-User)
    principal: str | None = None  # who authenticated (basic auth), when the server checks
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    duration_s: float = 0.0  # server time the query needs before it finishes
    error: dict[str, Any] | None = None
    update_type: str | None = None
    created: float = field(default_factory=time.monotonic)
    served: int = 0
    state: str = "QUEUED"
    cancelled: bool = False
    token: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.created

    def ready(self) -> bool:
        return self.elapsed() >= self.duration_s


def _bigint(name: str) -> dict[str, Any]:
    return {"name": name, "type": "bigint", "typeSignature": {"rawType": "bigint", "arguments": []}}


# Literals of the types the backend converts, as real Trino types and encodes them in JSON
# (varchar(1), timestamp(0), decimal(4,2); decimals and timestamps travel as text).
TYPED_SQL = (
    "SELECT 'a' AS s, DOUBLE '1.5' AS d, true AS b, DATE '2026-11-24' AS day, "
    "TIMESTAMP '2026-11-24 10:30:00' AS ts, DECIMAL '12.34' AS amount, "
    "CAST(NULL AS BIGINT) AS missing"
)


def _typed(name: str, raw: str, *args: int) -> dict[str, Any]:
    shown = f"{raw}({','.join(map(str, args))})" if args else raw
    signature = {"rawType": raw, "arguments": [{"kind": "LONG", "value": a} for a in args]}
    return {"name": name, "type": shown, "typeSignature": signature}


TYPED_COLUMNS = [
    _typed("s", "varchar", 1),
    _typed("d", "double"),
    _typed("b", "boolean"),
    _typed("day", "date"),
    _typed("ts", "timestamp", 0),
    _typed("amount", "decimal", 4, 2),
    _typed("missing", "bigint"),
]
TYPED_ROW = ["a", 1.5, True, "2026-11-24", "2026-11-24 10:30:00", "12.34", None]


def _syntax_error(sql: str) -> dict[str, Any]:
    known = {
        "select",
        "from",
        "range",
        "sleep",
        "fail",
        "create",
        "table",
        "insert",
        "into",
        "as",
        "values",
        "where",
        "1",
    }
    depth = 0
    for line_no, line in enumerate(sql.splitlines() or [""], start=1):
        for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*|\S", line):
            word = m.group().lower()
            depth += {"(": 1, ")": -1}.get(word, 0)
            if depth < 0 or (word not in known and not word.isdigit() and word not in ",()*;.'="):
                return _error(
                    f"line {line_no}:{m.start() + 1}: mismatched input '{m.group()}'",
                    "SYNTAX_ERROR",
                    "USER_ERROR",
                    line_no,
                    m.start() + 1,
                )
    return _error("line 1:1: mismatched input", "SYNTAX_ERROR", "USER_ERROR", 1, 1)


def _error(
    message: str, name: str, kind: str, line: int | None = None, column: int | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "errorCode": 1,
        "errorName": name,
        "errorType": kind,
        "failureInfo": {"type": "fake", "stack": []},
    }
    if line is not None:
        error["errorLocation"] = {"lineNumber": line, "columnNumber": column}
    return error


def plan(sql: str) -> dict[str, Any]:
    text = sql.strip().rstrip(";").strip()
    low = text.lower()
    if low == "select 1":
        return {"columns": [_bigint("_col0")], "rows": [[1]]}
    if m := re.fullmatch(r"select \* from range\((\d+)\)", low):
        n = int(m.group(1))
        return {"columns": [_bigint("value")], "rows": [[i] for i in range(n)]}
    if " ".join(text.split()) == TYPED_SQL:
        return {"columns": TYPED_COLUMNS, "rows": [TYPED_ROW]}
    if m := re.fullmatch(r"select sleep\((\d+(?:\.\d+)?)\)", low):
        return {"columns": [_bigint("slept")], "rows": [[1]], "duration_s": float(m.group(1))}
    if m := re.fullmatch(r"select fail\('([^']*)'\)", text, re.I):
        return {"error": _error(m.group(1), "GENERIC_USER_ERROR", "USER_ERROR")}
    if low.startswith(("create table", "insert into")):
        kind = "CREATE TABLE" if low.startswith("create") else "INSERT"
        return {"columns": [_bigint("rows")], "rows": [[3]], "update_type": kind}
    return {"error": _syntax_error(text)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client dropping a TLS connection is not a test failure; keep output clean


class FakeTrino:
    """The server; `start()` returns it listening on 127.0.0.1 and a free port."""

    def __init__(
        self,
        password: str | None = None,
        user: str = "admin",
        tls_dir: Path | None = None,
        may_impersonate: Collection[str] | None = None,
    ) -> None:
        self.queries: dict[str, FakeQuery] = {}
        self.password = password
        self.user = user
        # Trino's impersonation rules for `user`: None lets it act as anyone (a rule `.*`);
        # a collection only as those users (an empty one: as nobody but itself).
        self.may_impersonate = None if may_impersonate is None else frozenset(may_impersonate)
        self.requests: list[FakeRequest] = []
        self.deletes: list[str] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self.scheme = "http"
        if tls_dir is not None:
            cert, key = _self_signed(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeTrino:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def query(self, query_id: str) -> FakeQuery:
        return self.queries[query_id]

    def response(self, q: FakeQuery) -> dict[str, Any]:
        """The JSON a client sees for `q` now, advancing it one page."""
        with self.lock:
            out: dict[str, Any] = {"id": q.id, "infoUri": f"{self.url}/ui/query.html?{q.id}"}
            if q.cancelled:
                q.state = "FAILED"
                q.error = q.error or _error("Query was canceled", "USER_CANCELED", "USER_ERROR")
            elif q.error is not None:
                q.state = "FAILED"
            elif q.state == "QUEUED":
                q.state = "RUNNING"
            elif q.state == "RUNNING" and q.ready() and q.served >= len(q.rows):
                q.state = "FINISHED"
            if q.state == "RUNNING":
                out["columns"] = q.columns
                if q.ready() and q.served < len(q.rows):
                    out["data"] = q.rows[q.served : q.served + PAGE_ROWS]
                    q.served += len(out["data"])
                q.token += 1
                out["nextUri"] = f"{self.url}/v1/statement/executing/{q.id}/y{q.token}/{q.token}"
            elif q.state == "QUEUED":
                out["nextUri"] = f"{self.url}/v1/statement/queued/{q.id}/y0/0"
            if q.state == "FINISHED" and q.update_type:
                out["updateType"] = q.update_type
                out["updateCount"] = 3
            if q.error is not None and q.state == "FAILED":
                out["error"] = q.error
            total = max(len(q.rows), 1)
            done = q.served / total if q.duration_s == 0 else min(1.0, q.elapsed() / q.duration_s)
            out["stats"] = {
                "state": q.state,
                "queued": q.state == "QUEUED",
                "scheduled": True,
                "progressPercentage": round(100.0 * done, 1),
                "processedRows": q.served,
                "processedBytes": q.served * 8,
                "elapsedTimeMillis": int(q.elapsed() * 1000),
                "cpuTimeMillis": 1,
                "wallTimeMillis": 1,
                "queuedTimeMillis": 0,
                "nodes": 1,
                "totalSplits": 1,
                "queuedSplits": 0,
                "runningSplits": 0,
                "completedSplits": 1,
            }
            return out


def _handler(fake: FakeTrino) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _principal(self) -> str | None:
            """The basic-auth user this request names (whether or not its password is right)."""
            value = self.headers.get("Authorization", "")
            if not value.startswith("Basic "):
                return None
            try:
                return base64.b64decode(value[6:]).decode().split(":", 1)[0]
            except ValueError:
                return None

        def _authorized(self) -> bool:
            headers = {
                k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"
            }
            with fake.lock:
                fake.requests.append(
                    FakeRequest(self.command, self.path, headers, self._principal())
                )
            if fake.password is None:
                return True
            expected = base64.b64encode(f"{fake.user}:{fake.password}".encode()).decode()
            if self.headers.get("Authorization") == f"Basic {expected}":
                return True
            self._send(401, None, {"WWW-Authenticate": 'Basic realm="Trino"'})
            return False

        def _impersonation_error(self, user: str) -> dict[str, Any] | None:
            """Trino's check when the session user is not the authenticated one."""
            if fake.password is None or user == fake.user:
                return None  # no authenticated identity, or no impersonation
            if fake.may_impersonate is None or user in fake.may_impersonate:
                return None
            return _error(
                f"Access Denied: User {fake.user} cannot impersonate user {user}",
                "PERMISSION_DENIED",
                "USER_ERROR",
            )

        def do_POST(self) -> None:
            if not self._authorized():
                return
            length = int(self.headers.get("Content-Length", 0))
            sql = self.rfile.read(length).decode()
            if self.path != "/v1/statement":
                self._send(404, {"error": "not found"})
                return
            user = self.headers.get("X-Trino-User")
            if not user:
                self._send(400, None)
                return
            qid = time.strftime("%Y%m%d_%H%M%S_") + uuid.uuid4().hex[:5] + "_fake"
            denied = self._impersonation_error(user)
            q = FakeQuery(
                qid,
                sql,
                {k: v for k, v in self.headers.items() if k.lower().startswith("x-trino")},
                user=user,
                principal=fake.user if fake.password is not None else None,
                **({"error": denied} if denied else plan(sql)),
            )
            with fake.lock:
                fake.queries[qid] = q
            body = {
                "id": qid,
                "infoUri": f"{fake.url}/ui/query.html?{qid}",
                "nextUri": f"{fake.url}/v1/statement/queued/{qid}/y0/0",
                "stats": {
                    "state": "QUEUED",
                    "queued": True,
                    "scheduled": False,
                    "processedRows": 0,
                    "processedBytes": 0,
                    "elapsedTimeMillis": 0,
                    "progressPercentage": 0.0,
                },
            }
            self._send(200, body)

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path == "/v1/info":
                self._send(
                    200,
                    {
                        "nodeVersion": {"version": "476-fake"},
                        "environment": "test",
                        "coordinator": True,
                        "starting": False,
                        "uptime": "1.00m",
                    },
                )
                return
            if m := re.fullmatch(r"/v1/query/([^/]+)", self.path):
                q = fake.queries.get(m.group(1))
                if q is None:
                    self._send(404, None)
                    return
                if q.state == "RUNNING" and q.ready() and q.served >= len(q.rows):
                    state = "FINISHED"  # the result was consumed or nobody reads it any more
                else:
                    state = "FAILED" if q.cancelled or q.error else q.state
                    if state == "RUNNING" and q.ready():
                        state = "FINISHED"
                info = {
                    "queryId": q.id,
                    "state": state,
                    "query": q.sql,
                    "errorCode": {"name": q.error["errorName"]} if q.error else None,
                }
                self._send(200, info)
                return
            if m := re.fullmatch(r"/v1/statement/(queued|executing)/([^/]+)/.*", self.path):
                q = fake.queries.get(m.group(2))
                if q is None:
                    self._send(404, None)
                    return
                self._send(200, fake.response(q))
                return
            self._send(404, None)

        def do_DELETE(self) -> None:
            if not self._authorized():
                return
            if m := re.fullmatch(r"/v1/(statement/(queued|executing)|query)/([^/]+).*", self.path):
                q = fake.queries.get(m.group(3))
                if q is not None:
                    with fake.lock:
                        q.cancelled = True
                        fake.deletes.append(q.id)
                self._send(204)
                return
            self._send(404, None)

    return Handler


def _self_signed(directory: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1, made with `cryptography`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)
