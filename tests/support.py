"""Helpers shared by every test module: how a missing real service is reported."""

from __future__ import annotations

import os
import socket

import pytest


def in_ci() -> bool:
    """CI=true turns every missing service into a failure instead of a skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_missing(what: str) -> None:
    """Fail under CI, skip elsewhere: a developer laptop may lack a service, CI may not."""
    message = f"{what} is not available"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def every_row(services) -> dict[str, list]:
    """Every row of every metadata table, to prove a refused action changed nothing.
    History rows are written off a statement's path: the pending ones land first."""
    from sqlalchemy import select

    from engine.models import Base

    if "sql" in services._built:
        services.sql.flush_history()
    with services.db.session() as s:
        return {
            t.name: sorted(map(tuple, s.execute(select(t)).all()), key=repr)
            for t in Base.metadata.sorted_tables
        }
