"""`sadeem sql` on Trino runs as the Sadeem user: the OS account here (auth = "os"), sent as
X-Trino-User with the `interactive` client tag and source `sadeem`, authenticated as the
connection's user; a Trino that will not impersonate gives one line and exit code 6."""

from __future__ import annotations

import os
import pwd

import pytest

from engine.cli.main import main
from engine.context import Actor
from engine.errors import ValidationError
from engine.settings import Settings
from engine.wiring import open_services
from tests.fakes.trino_server import FakeTrino

ME = pwd.getpwuid(os.getuid()).pw_name  # the README's identity: the real uid's account


@pytest.fixture
def site(tmp_path):
    """(data dir, fake Trino): workspace `lake` whose SQL connection is that Trino."""
    fake = FakeTrino(password="svc-password-3", user="svc", tls_dir=tmp_path / "tls").start()
    data = tmp_path / "data"
    svc = open_services(Settings(data_dir=data))
    me = Actor(ME, "cli")
    svc.users.register(me)  # the first account seen is the admin
    svc.connections.create(
        me,
        "trino",
        "trino",
        {
            "host": "127.0.0.1",
            "port": fake.port,
            "http_scheme": "https",
            "verify_tls": False,
            "user": "svc",
            "password": "svc-password-3",
        },
    )
    svc.workspaces.create(me, "lake", sql_connection="trino")
    svc.close()
    yield data, fake
    fake.stop()


def test_cli_sql_reaches_trino_as_the_os_account_with_interactive_tags(site, capsys):
    data, fake = site
    assert main(["sql", "-w", "lake", "-e", "SELECT 1", "--data-dir", str(data)]) == 0
    [query] = fake.queries.values()
    assert (query.user, query.principal, query.state) == (ME, "svc", "FINISHED")
    headers = {k.lower(): v for k, v in query.headers.items()}
    assert headers["x-trino-user"] == ME
    assert headers["x-trino-client-tags"] == "interactive"
    assert headers["x-trino-source"] == "sadeem"


def test_refused_impersonation_is_one_line_exit_6(site, capsys):
    data, fake = site
    fake.may_impersonate = frozenset()  # svc may act as nobody but itself
    code = main(["sql", "-w", "lake", "-e", "SELECT 1", "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert code == 6
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"User svc cannot impersonate user {ME}" in err
    assert "impersonation rules" in err
    assert "svc-password-3" not in err


def test_a_password_without_the_connections_user_is_refused_and_nothing_stored(site):
    """Whose password it is must be said: never a Sadeem user's name with it."""
    data, _fake = site
    svc = open_services(Settings(data_dir=data))
    try:
        me = Actor(ME, "cli")
        config = {"host": "t", "http_scheme": "https", "password": "pw-4"}
        with pytest.raises(ValidationError) as info:
            svc.connections.create(me, "t2", "trino", config)
        assert info.value.field == "config.user" and "pw-4" not in str(info.value)
        assert [c.name for c in svc.connections.list(me)] == ["trino"]
    finally:
        svc.close()
