"""Shared fixtures: an engine on SQLite and on PostgreSQL, users with each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.postgres import postgres_url  # noqa: F401 - re-exported fixture


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the real user's config or data dir, or the machine's
    /etc/sadeem/config.toml (tests that need a system config write their own)."""
    import engine.settings

    home = tmp_path_factory.mktemp("home")
    monkeypatch.setattr(engine.settings, "SYSTEM_CONFIG_PATH", home / "etc-sadeem-config.toml")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for var in (
        "SADEEM_DATABASE_URL",
        "SADEEM_SECRET_KEY",
        "SADEEM_DATA_DIR",
        "SADEEM_AUTH",
        "SADEEM_CONFIG",
        "SADEEM_USER",
        "SADEEM_PASSWORD",
        "SADEEM_SERVER",
    ):
        monkeypatch.delenv(var, raising=False)
    # `engine serve` listens on a socket: each test's own, never the machine's /run/sadeem.
    monkeypatch.setenv("SADEEM_SOCKET", str(home / "engine.sock"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata DB URL: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator:
    """A migrated engine with one platform admin, `admin`."""
    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import open_services

    svc = open_services(Settings(data_dir=tmp_path / "data", database_url=db_url), migrate=True)
    svc.users.register(Actor("admin", "test"))  # the first user becomes the admin
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def admin():
    from engine.context import Actor

    return Actor("admin", "test")


@pytest.fixture
def make_member(services, admin) -> Callable:
    """make_member(workspace, role) -> Actor of a new user with that role there."""
    from engine.context import Actor

    counter = iter(range(1_000_000))

    def make(workspace: str | None, role: str | None, name: str | None = None) -> Actor:
        username = name or f"{role or 'nobody'}_{next(counter)}"
        services.users.create(admin, username)
        if workspace and role:
            services.workspaces.add_member(admin, workspace, username, role)
        return Actor(username, "test")

    return make


@pytest.fixture
def actors(services, admin, make_member) -> dict:
    """Workspace `team` with one member per role, plus `admin` and an `outsider`."""
    from engine.services.base import WORKSPACE_ROLES

    services.workspaces.create(admin, "team")
    out = {"admin": admin, "outsider": make_member(None, None, name="outsider")}
    for role in WORKSPACE_ROLES:
        out[role] = make_member("team", role, name=f"the_{role}")
    return out
