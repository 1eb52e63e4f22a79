"""Bounded I/O: a connection test against a server that accepts and never answers (a
tarpit on loopback) returns within the connection's `timeout_s` plus a small slack, for
every connection type, says "timed out after N s" and exits 6. Before, the same test hung
for 100+ s (Iceberg REST, Iceberg SQL on PostgreSQL), 91 s (S3) or 30 s (Trino)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.main import main

TIMEOUT_S = 1
# Interpreter and client start-up inside the command (boto3, pyiceberg, kubernetes imports
# on a 2-core machine shared with other jobs) on top of the deadline itself.
SLACK_S = 4.0


@pytest.fixture
def tarpit() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)  # kept open, never read from nor written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()
        thread.join(5)


def _configs(port: int, tmp: Path) -> dict[str, list[str]]:
    url = f"http://127.0.0.1:{port}"
    hanging_java = tmp / "java_home"
    (hanging_java / "bin").mkdir(parents=True)
    java = hanging_java / "bin" / "java"
    java.write_text("#!/bin/sh\nexec sleep 60\n")  # a JVM that never starts
    java.chmod(0o755)
    return {
        "s3": [f"endpoint={url}", "access_key=a"],  # secret on stdin
        "iceberg_rest": [f"uri={url}"],
        "iceberg_sql": [f"uri=postgresql://u@127.0.0.1:{port}/catalog", f"warehouse={tmp}/wh"],
        "trino": ["host=127.0.0.1", f"port={port}"],
        "postgres": ["host=127.0.0.1", f"port={port}", "database=d", "user=u"],
        "spark_operator": ["namespace=spark", f"api_server={url}"],
        "spark_local": ["spark_submit=/bin/true", f"java_home={hanging_java}"],
    }


@pytest.mark.parametrize(
    "kind",
    ["s3", "iceberg_rest", "iceberg_sql", "trino", "postgres", "spark_operator", "spark_local"],
)
def test_connection_test_against_a_tarpit_ends_at_its_deadline(
    kind: str, tarpit: int, tmp_path: Path, capsys, monkeypatch
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    sets = [a for v in _configs(tarpit, tmp_path)[kind] for a in ("--set", v)]
    extra: list[str] = []
    if kind == "s3":
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t\n"))
        extra = ["--secret-stdin", "secret_key"]
    timeout = ["--set", f"timeout_s={TIMEOUT_S}"]
    created = main(["connection", "create", "c", "--type", kind, *sets, *timeout, *extra, *data])
    assert created == 0, capsys.readouterr().err
    capsys.readouterr()
    start = time.monotonic()
    code = main(["connection", "test", "c", "--json", *data])
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    assert code == 6, out
    assert f"timed out after {TIMEOUT_S} s" in out
    assert '"error_kind": "timeout"' in out
    assert elapsed < TIMEOUT_S + SLACK_S, f"{kind} took {elapsed:.1f} s"


def test_default_deadline_is_ten_seconds(tmp_path: Path, capsys) -> None:
    """The README's default: a connection saved without timeout_s gets 10."""
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["connection", "create", "t", "--type", "trino", "--set", "host=h", *data]) == 0
    capsys.readouterr()
    assert main(["connection", "show", "t", "--json", *data]) == 0
    assert '"timeout_s": 10' in capsys.readouterr().out


def test_duckdb_test_is_in_process_and_quick(tmp_path: Path, capsys) -> None:
    """DuckDB has no network to wait on: its test goes through the same deadline and passes."""
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["connection", "create", "d", "--type", "duckdb", *data]) == 0
    start = time.monotonic()
    assert main(["connection", "test", "d", *data]) == 0
    assert time.monotonic() - start < 10 + 1


def test_a_client_that_ignores_its_deadline_is_abandoned(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The clients above stop at their own timeouts; one that does not (a driver bug, a DNS
    lookup libc will not interrupt) is left behind on a daemon thread at the deadline."""
    release = threading.Event()

    def stuck(self):  # type: ignore[no-untyped-def]
        from engine.backends.base import HealthResult

        release.wait(60)
        return HealthResult(True, detail="too late to count")

    monkeypatch.setattr("engine.backends.duckdb.DuckDBBackend.test", stuck)
    data = ["--data-dir", str(tmp_path / "data")]
    assert (
        main(["connection", "create", "d", "--type", "duckdb", "--set", "timeout_s=1", *data]) == 0
    )
    capsys.readouterr()
    start = time.monotonic()
    try:
        code = main(["connection", "test", "d", "--json", *data])
        elapsed = time.monotonic() - start
    finally:
        release.set()
        for thread in threading.enumerate():  # the abandoned probe ends once released
            if thread.name.startswith("probe-"):
                thread.join(10)
    out = capsys.readouterr().out
    assert code == 6 and "timed out after 1 s" in out
    assert elapsed < 1 + SLACK_S, elapsed
