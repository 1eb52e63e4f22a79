"""The `postgres` connection: reachability, auth and version of a PostgreSQL server."""

from __future__ import annotations

import time
from typing import Any

from engine.backends.base import HealthResult
from engine.backends.kinds import BuildInputs, Field, Kind, register

# libpq's own words, mapped to the error kinds every backend reports.
_KINDS = (
    ("could not translate host name", "dns"),
    ("Name or service not known", "dns"),
    ("Connection refused", "refused"),
    ("timeout expired", "timeout"),
    ("password authentication failed", "auth"),
    ("no password supplied", "auth"),
    ("no pg_hba.conf entry", "forbidden"),
    ("does not exist", "not_found"),
    ("SSL", "tls"),
)


class PostgresBackend:
    def __init__(
        self,
        host: str,
        database: str,
        user: str,
        password: str | None = None,
        port: int = 5432,
        sslmode: str = "prefer",
        connect_timeout: int = 5,
    ) -> None:
        self._params = {
            "host": host,
            "port": port,
            "dbname": database,
            "user": user,
            "sslmode": sslmode,
            "connect_timeout": connect_timeout,
        }
        self._password = password

    def __repr__(self) -> str:
        return f"PostgresBackend(host={self._params['host']!r}, db={self._params['dbname']!r})"

    def test(self) -> HealthResult:
        import psycopg2

        start = time.perf_counter()
        try:
            conn = psycopg2.connect(password=self._password, **self._params)
        except psycopg2.OperationalError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
            kind = next((k for needle, k in _KINDS if needle in str(exc)), "error")
            return HealthResult(False, detail=text, error_kind=kind)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                version = cur.fetchone()[0]
        finally:
            conn.close()
        return HealthResult(
            True, latency_ms=(time.perf_counter() - start) * 1000, version=f"PostgreSQL {version}"
        )


def _build(config: dict[str, Any], inputs: BuildInputs) -> PostgresBackend:
    return PostgresBackend(
        host=config["host"],
        database=config["database"],
        user=config["user"],
        password=config.get("password"),
        port=config["port"],
        sslmode=config["sslmode"],
        connect_timeout=max(1, int(config["timeout_s"])),
    )


KIND = register(
    Kind(
        "postgres",
        "source",
        (
            Field("host", required=True),
            Field("port", "int", default=5432, minimum=1, maximum=65535),
            Field("database", required=True),
            Field("user", required=True),
            Field("password", secret=True),
            Field(
                "sslmode",
                "enum",
                default="prefer",
                choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
            ),
        ),
        _build,
        summary="a PostgreSQL database jobs read from",
    )
)
