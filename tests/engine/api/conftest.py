"""A real `sadeem engine serve` on a Unix socket, and clients run as real OS accounts.

The server's tree is made under /tmp with mode 0755 so another account can reach the
socket; its data dir is 0700 (the engine makes it so), readable by root alone.

A second account's client runs in a forked child of this test process that drops to that
account's uid: the Python that runs the tests lives under /root (mode 0700 here), which no
other account may execute, so a fresh `sudo -u` process cannot start. The child has every
module the client needs already imported (a warm-up call as root, first) and reads no file
under /root after dropping its rights."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import free_port, in_ci

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    base: Path
    data_dir: Path
    socket: Path
    proc: subprocess.Popen
    log: Path
    http_port: int

    @property
    def url(self) -> str:
        return f"unix:{self.socket}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def _client_env(base: Path) -> dict[str, str]:
    """A client's environment whose data dir cannot exist: a file stands on its path, so
    any attempt to open (or create) a database there fails, visibly."""
    blocker = base / "no-data-dir-here"
    blocker.write_text("a file, so nothing can be created beneath it\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env.update(
        {
            "SADEEM_DATA_DIR": str(blocker / "data"),
            "XDG_DATA_HOME": str(blocker / "xdg"),
            "XDG_CONFIG_HOME": str(blocker / "config"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    base = Path(tempfile.mkdtemp(prefix="sadeem-api-", dir="/tmp"))
    base.chmod(0o755)
    data_dir = base / "data"
    sock = base / "run" / "engine.sock"  # `run/` does not exist: the engine makes it
    log = base / "engine.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env.update(
        {
            "SADEEM_DATA_DIR": str(data_dir),
            "SADEEM_HEARTBEAT_SECONDS": "0.2",
            "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(base / "server-config"),
        }
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "engine.cli.main", "engine", "serve"),
                *("--socket", str(sock), "--http", f"127.0.0.1:{port}"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"engine serve exited {proc.returncode}: {log.read_text()}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(str(sock))
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"engine serve did not listen: {log.read_text()}")
        yield Server(base, data_dir, sock, proc, log, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def client(server: Server) -> Callable[..., tuple[int, str, str]]:
    """client(*argv) -> (exit code, stdout, stderr) of `sadeem --server unix:... argv` in a
    fresh process of this account, with no usable data dir of its own."""
    home = Path(tempfile.mkdtemp(dir=server.base))
    home.chmod(0o755)  # the second account's client looks for its config.toml there too
    env = _client_env(home)

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "--server", server.url, *argv],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.returncode, proc.stdout, proc.stderr

    run.env = env  # type: ignore[attr-defined]
    return run


@dataclass
class OsUser:
    name: str
    uid: int
    gid: int


@pytest.fixture(scope="module")
def second_user() -> Iterator[OsUser]:
    """A second OS account, made with useradd and removed afterwards (root only)."""
    if os.geteuid() != 0:
        if in_ci():
            pytest.fail("CI runs as root: a second OS account is needed", pytrace=False)
        pytest.skip("a second OS account needs root (useradd); run as root to test two users")
    name = f"sdm{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "-s", "/bin/false", name],
        check=True,
    )
    try:
        entry = pwd.getpwnam(name)
        yield OsUser(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], check=False)


def as_user(user: OsUser, fn: Callable[[], int], env: dict[str, str]) -> tuple[int, str, str]:
    """Run fn() in a forked child as `user` (real and effective uid and gid); its exit code
    and what it printed."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(out_r)
            os.close(err_r)
            sys.stdout = io.TextIOWrapper(os.fdopen(out_w, "wb"), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(err_w, "wb"), write_through=True)
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            os.environ.clear()
            os.environ.update(env)
            import engine.settings

            # The tests' stand-in system config lives in root's 0700 pytest dir: none here.
            engine.settings.SYSTEM_CONFIG_PATH = Path("/nonexistent/sadeem/config.toml")
            code = fn()
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r) as o, os.fdopen(err_r) as e:
        out, err = o.read(), e.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


@pytest.fixture
def client_as(server: Server, client) -> Callable[..., tuple[int, str, str]]:
    """client_as(user, *argv): the CLI against the server in a child running as `user`."""
    from engine.cli.main import main

    # Warm-up as root: every module the client imports is loaded before the fork.
    code, _, err = _in_process(main, ["--server", server.url, "user", "whoami", "--json"])
    assert code == 0, err
    _in_process(main, ["--server", server.url, "workspace", "show", "no-such-ws"])
    import importlib

    # What the verbs used here import when they run (SQL output, exports, the CSV writer).
    for module in (
        "httpx",
        "pyarrow",
        "pyarrow.ipc",
        "pyarrow.csv",
        "engine.export",
        "engine.cli.inputs",
        "engine.cli.audit",
        "engine.backends.base",
    ):
        importlib.import_module(module)

    def run(user: OsUser, *argv: str) -> tuple[int, str, str]:
        return as_user(user, lambda: main(["--server", server.url, *argv]), client.env)

    return run


def _in_process(main: Callable, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def loads(text: str):
    return json.loads(text)
