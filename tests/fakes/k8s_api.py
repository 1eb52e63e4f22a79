"""A small Kubernetes API server for SparkApplications, faithful where the `kubernetes`
client can tell (no real API server can run on this machine).

Implements: `GET /version`; create/get/list/delete/merge-patch of
`sparkoperator.k8s.io/v1beta2` sparkapplications (201 with uid/resourceVersion/creation
timestamp, 404 and 409 as `Status` objects), merge-patch of `/status`, `?watch=true` as a
chunked stream of JSON lines honouring `resourceVersion`, `fieldSelector=metadata.name=`
and `timeoutSeconds`, pod logs as text/plain (with `follow`), core/v1 Secrets by GET
(`data` base64-encoded, 404 `Status` when absent), bearer-token auth (401) and forbidden
namespaces (403). Tests play the operator by calling `set_state` and `append_log`.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

GROUP_PATH = "/apis/sparkoperator.k8s.io/v1beta2/namespaces/([a-z0-9-]+)/sparkapplications"


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping a watch mid-stream is normal


class FakeKubernetes:
    def __init__(self, token: str = "test-token", forbidden: tuple[str, ...] = ()) -> None:
        self.token = token
        self.forbidden = set(forbidden)
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.finished_pods: set[tuple[str, str]] = set()
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.rv = 100
        self.cond = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.cond:
            self.finished_pods.update(self.logs)
            self.cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # -- the operator's side, driven by tests -------------------------------------------

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, kind, copy.deepcopy(obj)))
        self.cond.notify_all()

    def set_state(
        self,
        namespace: str,
        name: str,
        state: str,
        *,
        driver_pod: str | None = None,
        ui: str | None = None,
        message: str | None = None,
    ) -> None:
        with self.cond:
            obj = self.objects[(namespace, name)]
            status: dict[str, Any] = {"applicationState": {"state": state}}
            if message:
                status["applicationState"]["errorMessage"] = message
            if driver_pod or ui:
                status["driverInfo"] = {
                    k: v for k, v in (("podName", driver_pod), ("webUIAddress", ui)) if v
                }
            obj["status"] = merge_patch(obj.get("status", {}), status)
            self._record("MODIFIED", obj)
            if state in ("COMPLETED", "FAILED", "SUBMISSION_FAILED") and driver_pod:
                self.finished_pods.add((namespace, driver_pod))

    def append_log(self, namespace: str, pod: str, lines: list[str]) -> None:
        with self.cond:
            self.logs.setdefault((namespace, pod), []).extend(lines)
            self.cond.notify_all()

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((namespace, name))

    def add_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        """An Opaque Secret as the API server keeps it: values base64 in `data`."""
        with self.cond:
            self.rv += 1
            self.secrets[(namespace, name)] = {
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "resourceVersion": str(self.rv),
                    "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                "type": "Opaque",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            }


def _handler(fake: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def _json(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length", 0))
            return json.loads(self.rfile.read(length) or b"{}")

        def _guard(self, namespace: str | None = None) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._json(401, _status(401, "Unauthorized", "Unauthorized"))
                return False
            if namespace in fake.forbidden:
                self._json(403, _status(403, "Forbidden", f"forbidden in {namespace}"))
                return False
            return True

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path.rstrip("/") == "/version":
                if self._guard():
                    self._json(
                        200,
                        {
                            "major": "1",
                            "minor": "33",
                            "gitVersion": "v1.33.0-fake",
                            "gitCommit": "0" * 40,
                            "gitTreeState": "clean",
                            "buildDate": "2026-01-01T00:00:00Z",
                            "goVersion": "go1.24",
                            "compiler": "gc",
                            "platform": "linux/amd64",
                        },
                    )
                return
            if m := re.fullmatch(GROUP_PATH, url.path):
                if not self._guard(m.group(1)):
                    return
                if query.get("watch", "").lower() in ("true", "1"):
                    self._watch(m.group(1), query)
                    return
                items = [o for (ns, _), o in sorted(fake.objects.items()) if ns == m.group(1)]
                self._json(
                    200,
                    {
                        "apiVersion": "sparkoperator.k8s.io/v1beta2",
                        "kind": "SparkApplicationList",
                        "items": items,
                        "metadata": {"resourceVersion": str(fake.rv)},
                    },
                )
                return
            if m := re.fullmatch(GROUP_PATH + "/([a-z0-9.-]+)(/status)?", url.path):
                if not self._guard(m.group(1)):
                    return
                obj = fake.get(m.group(1), m.group(2))
                if obj is None:
                    self._json(
                        404, _status(404, "NotFound", f'sparkapplications "{m.group(2)}" not found')
                    )
                else:
                    self._json(200, obj)
                return
            if m := re.fullmatch(
                r"/api/v1/namespaces/([a-z0-9-]+)/secrets/([a-z0-9.-]+)", url.path
            ):
                if not self._guard(m.group(1)):
                    return
                secret = fake.secrets.get((m.group(1), m.group(2)))
                if secret is None:
                    self._json(404, _status(404, "NotFound", f'secrets "{m.group(2)}" not found'))
                else:
                    self._json(200, secret)
                return
            if m := re.fullmatch(
                r"/api/v1/namespaces/([a-z0-9-]+)/pods/([a-z0-9.-]+)/log", url.path
            ):
                if self._guard(m.group(1)):
                    self._log(m.group(1), m.group(2), query.get("follow") == "true")
                return
            self._json(404, _status(404, "NotFound", "no such path"))

        def _log(self, namespace: str, pod: str, follow: bool) -> None:
            key = (namespace, pod)
            if key not in fake.logs:
                self._json(404, _status(404, "NotFound", f'pods "{pod}" not found'))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            while True:
                with fake.cond:
                    lines = fake.logs[key][sent:]
                    done = key in fake.finished_pods
                    if not lines and follow and not done:
                        fake.cond.wait(0.5)
                        continue
                sent += len(lines)
                if lines:
                    self._chunk("".join(f"{ln}\n" for ln in lines).encode())
                if not follow or (done and sent >= len(fake.logs[key])):
                    break
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _watch(self, namespace: str, query: dict[str, str]) -> None:
            since = int(query.get("resourceVersion") or 0)
            name = None
            if sel := query.get("fieldSelector"):
                name = sel.removeprefix("metadata.name=")
            deadline = time.monotonic() + float(query.get("timeoutSeconds", 300))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if since == 0:  # a watch from "now" starts with the current objects as ADDED
                with fake.cond:
                    for (ns, n), obj in sorted(fake.objects.items()):
                        if ns == namespace and name in (None, n):
                            self._chunk(
                                json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n"
                            )
                    since = fake.rv
            while time.monotonic() < deadline:
                with fake.cond:
                    new = [e for e in fake.events if e[0] > since]
                    if not new:
                        fake.cond.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                        continue
                for rv, kind, obj in new:
                    since = rv
                    if obj["metadata"]["namespace"] == namespace and name in (
                        None,
                        obj["metadata"]["name"],
                    ):
                        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            self._chunk(b"")

        def do_POST(self) -> None:
            m = re.fullmatch(GROUP_PATH, urlparse(self.path).path)
            if not m:
                self._json(404, _status(404, "NotFound", "no such path"))
                return
            if not self._guard(m.group(1)):
                return
            obj = self._body()
            name = obj.get("metadata", {}).get("name", "")
            with fake.cond:
                if (m.group(1), name) in fake.objects:
                    self._json(
                        409,
                        _status(409, "AlreadyExists", f'sparkapplications "{name}" already exists'),
                    )
                    return
                obj["metadata"].update(
                    namespace=m.group(1),
                    uid=str(uuid.uuid4()),
                    creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
                fake.objects[(m.group(1), name)] = obj
                fake._record("ADDED", obj)
                self._json(201, obj)

        def do_PATCH(self) -> None:
            m = re.fullmatch(GROUP_PATH + "/([a-z0-9.-]+)(/status)?", urlparse(self.path).path)
            if not m:  # not a valid object name: no such object, as the API server says
                self._json(404, _status(404, "NotFound", "not found"))
                return
            if not self._guard(m.group(1)):
                return
            if "merge-patch" not in self.headers.get("Content-Type", ""):
                self._json(415, _status(415, "UnsupportedMediaType", "use merge-patch+json"))
                return
            patch = self._body()
            with fake.cond:
                obj = fake.get(m.group(1), m.group(2))
                if obj is None:
                    self._json(404, _status(404, "NotFound", "not found"))
                    return
                if m.group(3):  # the /status subresource changes only status
                    patch = {"status": patch.get("status", {})}
                else:
                    patch.pop("status", None)
                updated = merge_patch(obj, patch)
                fake.objects[(m.group(1), m.group(2))] = updated
                fake._record("MODIFIED", updated)
                self._json(200, updated)

        def do_DELETE(self) -> None:
            m = re.fullmatch(GROUP_PATH + "/([a-z0-9.-]+)", urlparse(self.path).path)
            if not m:
                self._json(404, _status(404, "NotFound", "not found"))
                return
            if not self._guard(m.group(1)):
                return
            with fake.cond:
                obj = fake.objects.pop((m.group(1), m.group(2)), None)
                if obj is None:
                    self._json(404, _status(404, "NotFound", "not found"))
                    return
                fake._record("DELETED", obj)
                for pod in list(fake.logs):
                    if pod[0] == m.group(1):
                        fake.finished_pods.add(pod)
            self._json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler
