"""A real `sadeem engine serve` on HTTPS with `auth = "password"`, as README "Shared site"
describes: TLS from `tls_cert`/`tls_key` in the config (a CA and a certificate made here with
`cryptography`), clients that verify it against `server_ca`, and `sadeem login`, whose
short-lived token (`login_token_s`) lands in the token file, mode 0600, and works.

The failures are one line each: a wrong CA, a plain-http client on the TLS port, a login
on a server whose auth is "os", a login without a terminal, a wrong password."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import pwd
import shutil
import socket
import sqlite3
import ssl
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"
LOGIN_TOKEN_S = 600  # the site's `login_token_s` (system config)
MAX_FAILURES = 3

BOOT = (
    "import os, sys, pathlib, engine.settings as s;"
    "s.SYSTEM_CONFIG_PATH = pathlib.Path(sys.argv[1]); s.SYSTEM_CONFIG_OWNER = os.getuid();"
    "from engine.cli.main import main; sys.exit(main(sys.argv[2:]))"
)


def _ca(name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(ca_key, ca_cert):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sadeem engine")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Site:
    base: Path
    system: Path
    data_dir: Path
    port: int
    ca: Path
    wrong_ca: Path
    proc: subprocess.Popen
    log: Path

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def _env(base: Path, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(base / home / "config"),
            "XDG_DATA_HOME": str(base / home / "data"),
        }
    )
    return env


def _sadeem(system: Path, env: dict[str, str], *argv: str, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-c", BOOT, str(system), *argv],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: a password prompt cannot open
    )


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    base = Path(tempfile.mkdtemp(prefix="sadeem-tls-", dir="/tmp"))
    base.chmod(0o755)
    try:
        ca_key, ca_cert = _ca("Sadeem test site CA")
        key, cert = _server_cert(ca_key, ca_cert)
        _, other_ca = _ca("Someone else's CA")
        (base / "ca.pem").write_bytes(_pem(ca_cert))
        (base / "wrong-ca.pem").write_bytes(_pem(other_ca))
        (base / "engine.pem").write_bytes(_pem(cert))
        (base / "engine.key").write_bytes(_key_pem(key))
        (base / "engine.key").chmod(0o600)
        etc = base / "etc"
        etc.mkdir(mode=0o755)
        system = etc / "config.toml"
        system.write_text(
            f'[sadeem]\nauth = "password"\nlogin_token_s = {LOGIN_TOKEN_S}\n'
            f"login_max_failures = {MAX_FAILURES}\n"
        )
        system.chmod(0o644)
        port = free_port()
        data_dir = base / "data"
        server_env = {
            **_env(base, "server"),
            "SADEEM_DATA_DIR": str(data_dir),
            "SADEEM_HEARTBEAT_SECONDS": "0.2",
        }
        # The engine's TLS and HTTP address from its config file, as the README says.
        conf = base / "server" / "config" / "sadeem" / "config.toml"
        conf.parent.mkdir(parents=True)
        conf.write_text(
            f'[sadeem]\nhttp = "127.0.0.1:{port}"\ntls_cert = "{base / "engine.pem"}"\n'
            f'tls_key = "{base / "engine.key"}"\nsocket = "{base / "run" / "engine.sock"}"\n'
        )
        made = _sadeem(
            system,
            server_env,
            "user",
            "bootstrap",
            "ana",
            "--password-stdin",
            stdin=f"{PASSWORD}\n",
        )
        assert made.returncode == 0, made.stderr
        log = base / "engine.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, str(system), "engine", "serve"],
                env=server_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"engine serve exited {proc.returncode}: {log.read_text()}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=1),
                ):
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"engine serve did not listen: {log.read_text()}")
            yield Site(
                base, system, data_dir, port, base / "ca.pem", base / "wrong-ca.pem", proc, log
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _client(site: Site, name: str, **extra: str) -> dict[str, str]:
    """A client's environment: its own config dir, the site's CA, no data dir it can use."""
    home = site.base / name
    (home / "config").mkdir(parents=True, exist_ok=True)
    blocker = home / "no-data-dir"
    blocker.write_text("a file: nothing can be created beneath it\n")
    return {
        **_env(site.base, name),
        "SADEEM_DATA_DIR": str(blocker / "data"),
        "SADEEM_SERVER": site.https,
        "SADEEM_SERVER_CA": str(site.ca),
        **extra,
    }


def _audit(site: Site, action: str) -> list[dict]:
    with sqlite3.connect(site.data_dir / "sadeem.db") as db:
        rows = db.execute(
            "SELECT username, action, source, details FROM audit_events WHERE action = ? "
            "ORDER BY id",
            (action,),
        ).fetchall()
    return [
        {"username": u, "action": a, "source": s, "details": json.loads(d) if d else None}
        for u, a, s, d in rows
    ]


def test_login_writes_a_short_lived_token_0600_that_the_cli_then_uses(site):
    env = _client(site, "ana")
    done = _sadeem(
        site.system, env, "login", "--login", "ana", "--login-password-stdin", "--json",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    token_file = Path(env["XDG_CONFIG_HOME"]) / "sadeem" / "token"  # README: the default
    assert Path(shown["token_file"]) == token_file
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token.startswith("sdm_") and token not in done.stdout + done.stderr
    # Short-lived: it ends login_token_s after now (give or take the test's own time).
    expires = dt.datetime.fromisoformat(shown["expires_at"])
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert LOGIN_TOKEN_S - 120 < left <= LOGIN_TOKEN_S
    # Stored as its SHA-256 only, like a personal access token.
    with sqlite3.connect(site.data_dir / "sadeem.db") as db:
        dump = json.dumps(db.execute("SELECT * FROM api_tokens").fetchall(), default=str)
    assert token not in dump and hashlib.sha256(token.encode()).hexdigest() in dump

    # The CLI over HTTPS, verifying the site's CA, acts as ana with that token.
    who = _sadeem(site.system, env, "user", "whoami", "--json")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["username"] == "ana"
    ok = [e for e in _audit(site, "user.login") if e["username"] == "ana"]
    assert (
        ok and ok[-1]["source"] == "http" and ok[-1]["details"]["client"].startswith("127.0.0.1:")
    )
    # The password is in no audit event and in no line the engine logged.
    with sqlite3.connect(site.data_dir / "sadeem.db") as db:
        trail = json.dumps(db.execute("SELECT * FROM audit_events").fetchall(), default=str)
    assert PASSWORD not in trail and PASSWORD not in site.log.read_text()


def test_a_wrong_password_and_an_unknown_user_get_the_same_401_and_are_audited(site):
    http = httpx.Client(base_url=site.https, verify=ssl.create_default_context(cafile=site.ca))
    wrong = http.post("/v1/login", json={"username": "ana", "password": "not it at all"})
    unknown = http.post("/v1/login", json={"username": "nobody_here", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert "not it at all" not in wrong.text
    failed = _audit(site, "user.login.failed")
    assert {"ana", "nobody_here"} <= {e["username"] for e in failed}
    assert {e["source"] for e in failed} == {"http"}
    assert "not it at all" not in json.dumps(failed)

    # Bad input: 400 with one message, never a 500 and never the password back.
    for body in ({}, {"username": "ana"}, {"username": 3, "password": "x"}, []):
        bad = http.post("/v1/login", json=body)
        assert bad.status_code == 400, (body, bad.text)
        assert bad.json()["error"]["class"] == "ValidationError"
    assert http.post("/v1/login", content=b"\xff{").status_code == 400

    # MAX_FAILURES for one name lock it: even the right password is then refused.
    for _ in range(MAX_FAILURES):
        http.post("/v1/login", json={"username": "lock_me", "password": "wrong wrong"})
    locked = http.post("/v1/login", json={"username": "lock_me", "password": PASSWORD})
    assert (
        locked.status_code == 401 and "too many failed logins" in locked.json()["error"]["message"]
    )


def test_login_failures_are_one_line_with_their_exit_codes(site):
    env = _client(site, "eve")
    # No terminal and no --login-password-stdin: one line, exit 4 (README), nothing written.
    done = _sadeem(site.system, env, "login", "--login", "ana")
    assert done.returncode == 4 and "terminal" in _one_line(done)
    token_file = Path(env["XDG_CONFIG_HOME"]) / "sadeem" / "token"
    assert not token_file.exists()
    # A wrong password: exit 4, one line, no token file.
    done = _sadeem(
        site.system, env, "login", "--login", "ana", "--login-password-stdin", stdin="nope\n"
    )
    assert done.returncode == 4 and "login failed" in _one_line(done)
    assert not token_file.exists()
    # A socket nobody listens on: the engine is unreachable (exit 7), nothing written.
    done = _sadeem(site.system, {**env, "SADEEM_SERVER": "unix:/tmp/x.sock"}, "login")
    assert done.returncode == 7 and "cannot reach" in _one_line(done)
    assert not token_file.exists()


def test_the_client_trusts_only_the_configured_ca(site):
    env = _client(site, "carol")
    # Without the site's CA, the system's CAs do not know this certificate: one line, 7.
    plain_env = {k: v for k, v in env.items() if k != "SADEEM_SERVER_CA"}
    done = _sadeem(site.system, plain_env, "login", "--login-password-stdin", stdin="x\n")
    line = _one_line(done)
    assert done.returncode == 7 and "certificate" in line and "server_ca" in line
    done = _sadeem(
        site.system, {**env, "SADEEM_SERVER_CA": str(site.wrong_ca)}, "login",
        "--login-password-stdin", stdin="x\n",
    )  # fmt: skip
    line = _one_line(done)
    assert done.returncode == 7 and "certificate" in line and "server_ca" in line
    # A CA bundle that is not there: named, exit 2.
    done = _sadeem(
        site.system, {**env, "SADEEM_SERVER_CA": str(site.base / "no-such-ca.pem")}, "login"
    )
    assert done.returncode == 2 and "server_ca" in _one_line(done)
    # Plain http:// on the TLS port: one line that says to use https://, exit 7.
    done = _sadeem(
        site.system, {**env, "SADEEM_SERVER": f"http://127.0.0.1:{site.port}"}, "login",
        "--login-password-stdin", stdin="x\n",
    )  # fmt: skip
    line = _one_line(done)
    assert done.returncode == 7 and "https://" in line
    # The same call with the right CA succeeds (it reaches the login and is refused there).
    done = _sadeem(site.system, env, "login", "--login-password-stdin", stdin="wrong pw\n")
    assert done.returncode == 4 and "login failed" in _one_line(done)


def test_login_on_an_os_auth_server_is_refused_before_any_password(server, tmp_path):
    """The plain-HTTP server of conftest.py runs with auth = "os"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env.update({"PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")})
    done = _sadeem(
        Path("/nonexistent/sadeem.toml"),
        {**env, "SADEEM_SERVER": server.http},
        "login",
    )  # fmt: skip  (no --login-password-stdin, no terminal: refused before asking)
    line = _one_line(done)
    assert done.returncode == 4 and "takes no password logins" in line and "token" in line
    assert not (tmp_path / "config" / "sadeem" / "token").exists()
    post = httpx.post(f"{server.http}/v1/login", json={"username": "root", "password": "x" * 9})
    assert post.status_code == 403
    # https:// to a plain-HTTP port: one line that says so, exit 7.
    tls_to_plain = server.http.replace("http://", "https://")
    done = _sadeem(
        Path("/nonexistent/sadeem.toml"), {**env, "SADEEM_SERVER": tls_to_plain}, "login"
    )
    assert done.returncode == 7 and "plain HTTP" in _one_line(done)


def test_a_tls_key_that_does_not_load_stops_engine_serve_in_one_line(site, tmp_path):
    env = {
        **_env(site.base, "bad-tls"),
        "SADEEM_DATA_DIR": str(tmp_path / "data"),
        "SADEEM_SOCKET": str(tmp_path / "engine.sock"),
        "SADEEM_HTTP": f"127.0.0.1:{free_port()}",
        "SADEEM_TLS_CERT": str(site.base / "engine.pem"),
    }
    for key in (site.ca, site.base / "no-such.key"):  # not its key; not there at all
        done = _sadeem(site.system, {**env, "SADEEM_TLS_KEY": str(key)}, "engine", "serve")
        assert done.returncode == 2 and "tls_cert" in _one_line(done)
    assert not (tmp_path / "engine.sock").exists()


def test_a_login_token_makes_no_token_that_outlives_it(site):
    """Attack: log in once (a token of login_token_s), then ask for a personal access
    token with no expiry, or one of a year: a stolen or forgotten login would then be a
    key for good. What a session of an expiring token makes ends when that token does."""
    http = httpx.Client(base_url=site.https, verify=ssl.create_default_context(cafile=site.ca))
    login = http.post("/v1/login", json={"username": "ana", "password": PASSWORD})
    assert login.status_code == 200, login.text
    session = login.json()["result"]
    ends = dt.datetime.fromisoformat(session["expires_at"])
    bearer = {"authorization": f"Bearer {session['token']}"}
    for kwargs in ({"name": "forever"}, {"name": "a-year", "expires_in_s": 366 * 86400}):
        made = http.post("/v1/tokens/create", json={"kwargs": kwargs}, headers=bearer)
        assert made.status_code == 200, made.text
        view = made.json()["result"]["$view"][1]["view"]["$view"][1]
        assert view["expires_at"] is not None, kwargs
        expires = dt.datetime.fromisoformat(view["expires_at"]["$dt"])
        assert expires <= ends, kwargs


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"username": "ana", "password": "\\ud800"}'],
    ids=["deep", "surrogate"],
)
def test_a_login_body_no_one_can_decode_is_a_400(site, body):
    """Attack: crash POST /v1/login with JSON that parses (or nearly) but no handler can
    take: nested past the stack (RecursionError), a lone surrogate for a password (scrypt
    cannot encode it). One 400 line, no 500, never the password back."""
    http = httpx.Client(base_url=site.https, verify=ssl.create_default_context(cafile=site.ca))
    answer = http.post("/v1/login", content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["class"] == "ValidationError"


def test_a_new_password_ends_the_logins_the_old_one_bought(site):
    """Attack: log in with a leaked password before the admin resets it; the token that
    login got must stop working when the password changes (README: a reset cuts off
    whoever already logged in with the old password), else the reset locks out nobody."""
    http = httpx.Client(base_url=site.https, verify=ssl.create_default_context(cafile=site.ca))

    def login(name: str, password: str) -> dict[str, str]:
        done = http.post("/v1/login", json={"username": name, "password": password})
        assert done.status_code == 200, done.text
        return {"authorization": f"Bearer {done.json()['result']['token']}"}

    admin = login("ana", PASSWORD)
    made = http.post(
        "/v1/users/create",
        json={"args": ["leaky"], "kwargs": {"password": "leaked password 1"}},
        headers=admin,
    )
    assert made.status_code == 200, made.text
    thief = login("leaky", "leaked password 1")
    assert http.post("/v1/users/whoami", json={}, headers=thief).status_code == 200
    reset = http.post(
        "/v1/users/set_password", json={"args": ["leaky", "a fresh password 2"]}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert http.post("/v1/users/whoami", json={}, headers=thief).status_code == 401
    # Only that user's logins: the admin's own session goes on.
    assert http.post("/v1/users/whoami", json={}, headers=admin).status_code == 200
    fresh = login("leaky", "a fresh password 2")
    assert http.post("/v1/users/whoami", json={}, headers=fresh).status_code == 200


def test_another_users_flood_of_cancels_keeps_mine(site):
    """Attack: a read-only user posts more cancels than the engine keeps for queries not
    started yet (names no query will ever take); a cancel that overtakes its own execute
    (README: Ctrl-K before any answer) must still stop that query for everyone else."""
    http = httpx.Client(
        base_url=site.https, verify=ssl.create_default_context(cafile=site.ca), timeout=60
    )

    def login(name: str, password: str, **headers: str) -> dict[str, str]:
        done = http.post(
            "/v1/login", json={"username": name, "password": password}, headers=headers
        )
        assert done.status_code == 200, done.text
        return {"authorization": f"Bearer {done.json()['result']['token']}"}

    ana = login("ana", PASSWORD)
    assert http.post(
        "/v1/workspaces/create", json={"args": ["flood"]}, headers=ana
    ).status_code in (
        200,
        409,
    )
    made = http.post(
        "/v1/users/create",
        json={"args": ["flooder"], "kwargs": {"password": "flooding password"}},
        headers=ana,
    )
    assert made.status_code == 200, made.text
    flooder = login("flooder", "flooding password", **{"x-sadeem-read-only": "1"})
    for i in range(1001):
        done = http.post("/v1/sql/cancel", json={"args": [f"flood-{i:06d}"]}, headers=flooder)
        assert done.status_code == 200, done.text
    name = "mine-0123456789"
    assert http.post("/v1/sql/cancel", json={"args": [name]}, headers=ana).status_code == 200
    started = http.post(
        "/v1/sql/execute",
        json={"args": ["flood", "SELECT 1 AS a"]},
        headers={**ana, "x-sadeem-query": name},
    )
    assert started.status_code == 499, started.status_code  # 200: it ran
    assert started.json()["error"]["class"] == "QueryCancelled"


def test_on_a_password_site_the_socket_asks_for_a_login_too(site):
    """Attack (red team): on an auth = "password" engine the socket took the peer's OS
    account as the Sadeem user, so a `useradd bob` on the bastion acted as Sadeem's bob
    without bob's password. The socket now asks for a token as HTTP does."""
    import os

    sock = f"unix:{site.base / 'run' / 'engine.sock'}"
    env = _client(site, "on-the-socket", SADEEM_SERVER=sock)
    done = _sadeem(
        site.system, env, "login", "--login", "ana", "--login-password-stdin",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    me = _sadeem(site.system, env, "user", "whoami", "--json")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["username"] == "ana"
    # A Sadeem user named like the OS account this test runs as (root, say) ...
    os_name = pwd.getpwuid(os.getuid()).pw_name
    made = _sadeem(site.system, env, "user", "create", os_name)
    assert made.returncode in (0, 5), made.stderr  # 5: it exists already
    # ... is still not who that OS account is on the socket, without a token.
    (Path(env["XDG_CONFIG_HOME"]) / "sadeem" / "token").unlink()
    refused = _sadeem(site.system, env, "user", "whoami", "--json")
    assert refused.returncode == 4, (refused.stdout, refused.stderr)  # README: refused
    assert "token" in refused.stderr and refused.stdout == ""
