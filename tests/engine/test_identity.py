"""Identity: who is acting cannot be chosen through the environment, a user's own config or
flags; password logins cost the same for unknown users, lock out, and can be bootstrapped.

Expectations come from README "Security model" / "Identity and deployments" and issue 13."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.errors import Conflict, PermissionDenied, ValidationError
from engine.settings import Settings, load_settings

REAL_USER = pwd.getpwuid(os.getuid()).pw_name
IDENTITY_ENV = ("LOGNAME", "USER", "LNAME", "USERNAME", "SADEEM_USER")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def system_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """write(text, mode=0o644) -> the system config file the settings loader will trust."""
    etc = tmp_path / "etc-sadeem"
    etc.mkdir(mode=0o755)
    path = etc / "config.toml"
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_PATH", path)
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_OWNER", os.getuid())  # root in CI

    def write(body: str, mode: int = 0o644) -> Path:
        path.write_text(body)
        path.chmod(mode)
        return path

    return write


def sadeem(
    *argv: str,
    system: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process, with SYSTEM_CONFIG_PATH pointed at `system` (no file when
    None) the only way a test can: the path is a constant, not something env can change."""
    boot = (
        "import os, sys, pathlib, engine.settings as s;"
        "s.SYSTEM_CONFIG_PATH = pathlib.Path(sys.argv[1]); s.SYSTEM_CONFIG_OWNER = os.getuid();"
        "from engine.cli.main import main; sys.exit(main(sys.argv[2:]))"
    )
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", boot, str(system or "/nonexistent/sadeem.toml"), *argv],
        env=full_env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: a login prompt cannot open /dev/tty
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error a refused command printed: exactly one line, never a traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- auth = "os": the real uid --------------------------------------------------------------


def test_os_identity_is_the_real_uid_whatever_the_environment_says(monkeypatch):
    from engine.context import os_username

    for var in IDENTITY_ENV:
        monkeypatch.setenv(var, "boss")
    assert os_username() == REAL_USER != "boss"


def test_logname_does_not_make_a_non_admin_an_admin(tmp_path: Path):
    from engine.context import Actor
    from engine.wiring import open_services

    data = tmp_path / "data"
    svc = open_services(Settings(data_dir=data), migrate=True)
    try:
        svc.users.register(Actor("boss", "test"))  # the first user: the platform admin
    finally:
        svc.close()
    env = dict.fromkeys(IDENTITY_ENV, "boss")
    proc = sadeem("user", "create", "mallory", "--admin", "--data-dir", str(data), env=env)
    assert proc.returncode == 4, proc.stderr
    assert "user.create needs a platform admin" in one_line_error(proc)
    listed = sadeem("user", "list", "--json", "--data-dir", str(data), env=env)
    users = {u["username"]: u["platform_role"] for u in json.loads(listed.stdout)}
    assert users == {"boss": "admin", REAL_USER: "user"}  # the refused call acted as REAL_USER


def test_the_console_acts_as_the_real_uid(tmp_path: Path, monkeypatch):
    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from tui.main import build_console

    for var in IDENTITY_ENV:
        monkeypatch.setenv(var, "boss")
    cli = Cli(build_parser().parse_args(["--data-dir", str(tmp_path)]))
    app, _ = build_console(cli)
    assert app.session.actor.username == REAL_USER


def test_login_flags_are_refused_in_os_mode(tmp_path: Path):
    proc = sadeem("user", "whoami", "--login", "boss", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "--login" in one_line_error(proc)


# --- security settings come from the system config only -------------------------------------


def test_user_config_env_and_flags_cannot_set_security_settings(
    system_config, tmp_path: Path, capsys
):
    user_cfg = tmp_path / "user.toml"
    user_cfg.write_text(
        'auth = "password"\nsecret_file_dirs = ["/"]\nsecret_env_prefix = ""\n'
        "login_max_failures = 1000000\nread_only = true\n"
    )
    env = {"SADEEM_SECRET_K8S_NAMESPACES": "kube-system", "SADEEM_LOGIN_WINDOW_S": "1"}
    s = load_settings({"auth": "password"}, environ=env, config_file=user_cfg)
    assert s.auth == "os"
    assert s.secret_file_dirs == ("/run/secrets",)
    assert s.secret_env_prefix == "SADEEM_SECRET_"
    assert s.secret_k8s_namespaces == ()
    assert (s.login_max_failures, s.login_window_s) == (5, 900)
    assert s.read_only is True  # ordinary settings still come from the user's file
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning:")
    for name in ("auth", "secret_file_dirs", "SADEEM_LOGIN_WINDOW_S", "login_max_failures"):
        assert name in warning[0]


def test_system_config_sets_security_settings_and_ordinary_defaults(system_config, tmp_path):
    system_config(
        'auth = "password"\nsecret_file_dirs = ["/srv/secrets"]\nsecret_k8s_namespaces = '
        '["data"]\nlogin_max_failures = 3\nlogin_window_s = 60\nmax_concurrent_runs = 9\n'
    )
    s = load_settings(environ={"SADEEM_MAX_CONCURRENT_RUNS": "2"}, config_file=tmp_path / "x")
    assert (s.auth, s.secret_file_dirs, s.secret_k8s_namespaces) == (
        "password",
        ("/srv/secrets",),
        ("data",),
    )
    assert (s.login_max_failures, s.login_window_s) == (3, 60)
    assert s.max_concurrent_runs == 2  # a user may still tune what is not a security setting


@pytest.mark.parametrize(
    "how",
    ["SADEEM_AUTH=os", "SADEEM_CONFIG=/dev/null", "--config user.toml", "user config.toml"],
)
def test_password_mode_cannot_be_turned_off_by_the_user(system_config, tmp_path: Path, how):
    system = system_config('auth = "password"\n')
    data = tmp_path / "data"
    user_cfg = tmp_path / "user.toml"
    user_cfg.write_text('[sadeem]\nauth = "os"\n')
    env: dict[str, str] = {}
    argv = ["user", "whoami", "--data-dir", str(data)]
    if how.startswith("SADEEM_"):
        key, value = how.split("=")
        env[key] = value
    elif how.startswith("--config"):
        argv += ["--config", str(user_cfg)]
    else:
        xdg = tmp_path / "xdg"
        (xdg / "sadeem").mkdir(parents=True)
        (xdg / "sadeem" / "config.toml").write_text(user_cfg.read_text())
        env["XDG_CONFIG_HOME"] = str(xdg)
    proc = sadeem(*argv, system=system, env=env)
    assert proc.returncode == 4, (how, proc.stdout, proc.stderr)
    assert "password login" in one_line_error(proc)
    db = data / "sadeem.db"
    if db.exists():  # nobody was registered as the OS account (os mode would have)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT username FROM users").fetchall() == []


@pytest.mark.parametrize(
    "spoil",
    [
        "file writable by others",
        "file writable by group",
        "file not root's",
        "dir writable",
        "symlink in a writable dir",
    ],
)
def test_a_system_config_a_user_could_change_is_refused(
    system_config, tmp_path, capsys, monkeypatch, spoil
):
    from engine.cli.main import main

    path = system_config('auth = "password"\n')
    if spoil == "file writable by others":
        path.chmod(0o646)
    elif spoil == "file writable by group":
        path.chmod(0o664)
    elif spoil == "file not root's":
        if os.getuid() != 0:
            pytest.skip("only root can give a file away")
        monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_OWNER", 0)
        os.chown(path, 65534, 65534)
    elif spoil == "dir writable":
        path.parent.chmod(0o777)
    else:  # a trusted file, reached through a link that anyone could swap
        link_dir = tmp_path / "open"
        link_dir.mkdir()
        link_dir.chmod(0o777)
        (link_dir / "config.toml").symlink_to(path)
        monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_PATH", link_dir / "config.toml")
        path = link_dir / "config.toml"
    with pytest.raises(ValidationError, match="owned by root"):
        load_settings(environ={}, config_file=tmp_path / "none.toml")
    code = main(["config", "show", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2 and "will not start" in err
    assert err.count("\n") == 1 and str(path.parent) in err


def test_an_unreadable_or_odd_system_config_is_refused_not_skipped(system_config, tmp_path):
    path = system_config("")
    path.unlink()
    path.mkdir()  # a directory where the file should be
    with pytest.raises(ValidationError, match="regular file"):
        load_settings(environ={}, config_file=tmp_path / "none.toml")
    path.rmdir()
    path.symlink_to(tmp_path / "gone.toml")  # deleting the target must not turn logins off
    with pytest.raises(ValidationError, match="dangling"):
        load_settings(environ={}, config_file=tmp_path / "none.toml")
    path.unlink()
    system_config("no_such_setting = 1\n")
    with pytest.raises(ValidationError, match="no_such_setting"):
        load_settings(environ={}, config_file=tmp_path / "none.toml")


# --- password logins ------------------------------------------------------------------------

PASSWORD = "correct horse battery"
WRONG = "tr0ub4dor&3"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator:
    """A password site with 3 tries per 10 minutes: admin (with password), bob, nopw, gone."""
    from engine.context import Actor
    from engine.wiring import open_services

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        auth="password",
        login_max_failures=3,
        login_window_s=600,
    )
    svc = open_services(settings, migrate=True)
    admin = Actor("admin", "test")
    svc.users.register(admin)
    svc.users.set_password(admin, "admin", PASSWORD)
    svc.users.create(admin, "bob", password=PASSWORD)
    svc.users.create(admin, "nopw")
    svc.users.create(admin, "gone", password=PASSWORD)
    svc.users.update(admin, "gone", active=False)
    try:
        yield svc
    finally:
        svc.close()


def audit_rows(svc, name: str) -> list[tuple]:
    with svc.deps.db.session() as s:
        rows = s.execute(
            text(
                "SELECT action, username, source, target, details FROM audit_events "
                "WHERE username = :n AND action LIKE 'user.login%' ORDER BY id"
            ),
            {"n": name},
        )
        return [tuple(r) for r in rows]


def age_login_events(svc, name: str, seconds: int) -> None:
    """Move `name`'s login events `seconds` into the past, as if that time had passed."""
    from datetime import timedelta

    from engine.models import AuditEvent

    with svc.deps.db.session() as s:
        for event in s.query(AuditEvent).filter(AuditEvent.username == name):
            event.at = event.at - timedelta(seconds=seconds)


def test_every_failed_login_costs_one_scrypt(site, monkeypatch):
    import engine.passwords

    calls: list[int] = []
    real = engine.passwords._scrypt

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.passwords, "_scrypt", spy)
    for username, password in [
        ("bob", PASSWORD),  # success
        ("bob", WRONG),  # wrong password
        ("nobody", WRONG),  # unknown user
        ("nopw", WRONG),  # a user without a password
        ("gone", PASSWORD),  # right password, inactive user
        ("Not A Name!", WRONG),  # cannot exist at all
    ]:
        calls.clear()
        try:
            site.users.login(username, password)
        except PermissionDenied as exc:
            assert "unknown user or wrong password" in str(exc)
        assert len(calls) == 1, username


def test_unknown_user_and_wrong_password_take_about_as_long(site):
    import time

    def best_of(username: str) -> float:
        times = []
        for _ in range(3):  # best of: the machine is shared, so noise only ever adds
            start = time.perf_counter()
            with pytest.raises(PermissionDenied):
                site.users.login(username, WRONG)
            times.append(time.perf_counter() - start)
            age_login_events(site, username, 10_000)  # keep the lockout out of the way
        return min(times)

    wrong, unknown = best_of("bob"), best_of("nobody")
    assert wrong / 3 < unknown < wrong * 3, (wrong, unknown)


def test_repeated_failures_lock_the_name_even_for_the_right_password(site):
    for _ in range(3):
        with pytest.raises(PermissionDenied, match="unknown user or wrong password"):
            site.users.login("bob", WRONG)
    with pytest.raises(PermissionDenied, match="too many failed logins") as locked:
        site.users.login("bob", PASSWORD)
    assert "minutes" in str(locked.value)
    actions = [row[0] for row in audit_rows(site, "bob")]
    assert actions == [
        "user.login.failed",
        "user.login.failed",
        "user.login.locked",
        "user.login.refused",
    ]
    assert PASSWORD not in repr(audit_rows(site, "bob")) and WRONG not in repr(
        audit_rows(site, "bob")
    )
    assert site.users.login("admin", PASSWORD).username == "admin"  # others are not locked
    age_login_events(site, "bob", 601)  # the window passes
    assert site.users.login("bob", PASSWORD).username == "bob"


def test_a_success_starts_the_count_again(site):
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            site.users.login("bob", WRONG)
    site.users.login("bob", PASSWORD)
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="wrong password"):
            site.users.login("bob", WRONG)
    assert site.users.login("bob", PASSWORD).username == "bob"


def test_unknown_names_lock_out_like_real_ones(site):
    """Otherwise the lockout message itself would tell which names exist."""
    for _ in range(3):
        with pytest.raises(PermissionDenied, match="unknown user or wrong password"):
            site.users.login("nobody", WRONG)
    with pytest.raises(PermissionDenied, match="too many failed logins"):
        site.users.login("nobody", WRONG)
    assert [r[0] for r in audit_rows(site, "nobody")][-1] == "user.login.refused"


def test_a_name_that_cannot_exist_is_never_written_to_the_trail(site):
    with pytest.raises(PermissionDenied):
        site.users.login(WRONG, WRONG)  # a password typed into the user name field
    with site.deps.db.session() as s:
        dump = repr(list(s.execute(text("SELECT * FROM audit_events"))))
    assert WRONG not in dump and "(invalid)" in dump


# --- the CLI: no TTY, --login-password-stdin, bootstrap -------------------------------------


def test_bootstrap_a_fresh_password_site_from_the_cli(system_config, tmp_path: Path):
    system = system_config('auth = "password"\n')
    d = ("--data-dir", str(tmp_path / "data"))

    # today's trap: the first `user create --admin` cannot log in; the error says what to do
    proc = sadeem("user", "create", "ana", "--admin", *d, system=system)
    assert proc.returncode == 4 and "--login-password-stdin" in one_line_error(proc)
    proc = sadeem(
        "--login-password-stdin",
        "user",
        "create",
        "ana",
        "--admin",
        *d,
        system=system,
        stdin="whatever1\n",
    )
    assert proc.returncode == 4 and "sadeem user bootstrap" in one_line_error(proc)

    proc = sadeem(
        "user", "bootstrap", "ana", "--password-stdin", *d, system=system, stdin=f"{PASSWORD}\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    again = sadeem(
        "user", "bootstrap", "eve", "--password-stdin", *d, system=system, stdin=f"{PASSWORD}\n"
    )
    assert again.returncode == 5 and "already has an admin" in one_line_error(again)

    # the admin logs in (first stdin line) and creates bob with a password (second line)
    proc = sadeem(
        "--login",
        "ana",
        "--login-password-stdin",
        "user",
        "create",
        "bob",
        "--password-stdin",
        *d,
        system=system,
        stdin=f"{PASSWORD}\nbobs password\n",
    )
    assert proc.returncode == 0, proc.stderr
    proc = sadeem(
        "--login",
        "bob",
        "--login-password-stdin",
        "user",
        "whoami",
        "--json",
        *d,
        system=system,
        stdin="bobs password\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["username"] == "bob"
    proc = sadeem(
        "--login",
        "bob",
        "--login-password-stdin",
        "user",
        "whoami",
        *d,
        system=system,
        stdin="not bobs\n",
    )
    assert proc.returncode == 4 and "wrong password" in one_line_error(proc)
    audit = sadeem(
        "--login",
        "ana",
        "--login-password-stdin",
        "audit",
        "list",
        "--json",
        *d,
        system=system,
        stdin=f"{PASSWORD}\n",
    )
    actions = [e["action"] for e in json.loads(audit.stdout)]
    assert "user.bootstrap" in actions and "user.login.failed" in actions
    assert PASSWORD not in audit.stdout and "not bobs" not in audit.stdout


@pytest.mark.skipif(os.getuid() != 0, reason="gives the data dir to another uid: needs root")
def test_bootstrap_needs_a_password_site_root_or_the_data_dir_owner(tmp_path: Path, db_url):
    from engine.wiring import open_services

    os_site = open_services(Settings(data_dir=tmp_path / "os", database_url=db_url), migrate=True)
    try:
        with pytest.raises(Conflict, match="auth"):
            os_site.users.bootstrap("ana", PASSWORD, uid=os.getuid())
    finally:
        os_site.close()
    data = tmp_path / "pw"
    settings = Settings(data_dir=data, database_url=db_url, auth="password")
    svc = open_services(settings, migrate=True)
    try:
        os.chown(data, 4242, 4242)
        with pytest.raises(PermissionDenied, match="owner"):
            svc.users.bootstrap("ana", PASSWORD, uid=31337)  # neither root nor the owner
        assert svc.users.bootstrap("ana", PASSWORD, uid=4242).platform_role == "admin"
        with pytest.raises(Conflict, match="already has an admin"):
            svc.users.bootstrap("eve", PASSWORD, uid=0)
        assert svc.users.login("ana", PASSWORD).username == "ana"
    finally:
        svc.close()
