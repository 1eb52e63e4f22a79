"""The console follows the engine (README, "The console"): it looks at the scheduler lease
every `heartbeat_seconds`, runs its embedded engine while nobody else holds the lease, hands
it to a daemon that starts, takes over when the daemon stops or when a console holding the
lease is killed (once the lease's `lease_seconds` ran out), never in a read-only session,
and warns in the header when runs are queued and no engine runs them. And quitting never
waits on a connection test in flight."""

from __future__ import annotations

import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.context import Actor
from engine.runner.embedded import EmbeddedEngine
from engine.settings import Settings
from engine.wiring import open_services
from tests.tui.conftest import ANA
from tests.tui.drive import SIZE, started, text_of, wait_until

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 0.2
LEASE_S = 2.0
# "within a few seconds": the lease's own expiry plus a few checks, on a shared 2-core box.
TAKEOVER_S = 10.0
# Half the pending connection test's 10 s deadline: waiting on it cannot pass under this.
QUIT_BOUND_S = 5.0


def _env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SADEEM_DATA_DIR": str(settings.data_dir),
        "SADEEM_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "SADEEM_LEASE_SECONDS": str(settings.lease_seconds),
    }
    if settings.database_url:
        env["SADEEM_DATABASE_URL"] = settings.database_url
    return env


def _site(tmp_path: Path, url: str | None) -> tuple[Settings, object]:
    """A provisioned workspace `w` with a quick job, ANA its admin; (settings, services)."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        heartbeat_seconds=HEARTBEAT_S,
        lease_seconds=LEASE_S,
    )
    svc = open_services(settings, migrate=True)
    svc.users.register(ANA)  # the first user: the platform admin
    svc.workspaces.create(ANA, "w")
    svc.provisioning.apply(ANA, "w")
    svc.jobs.create(ANA, "w", "quick", "sql", {"sql": "SELECT 1 AS x"})
    return settings, svc


def _header(app) -> str:
    return text_of(app.query_one("#header"))


async def _run_succeeds(pilot, svc, run_id: int, owner_prefix: str) -> None:
    await wait_until(
        pilot, lambda: svc.runs.get(ANA, run_id).state == "succeeded", timeout=TAKEOVER_S * 3
    )
    assert (svc.runs.get(ANA, run_id).owner or "").startswith(owner_prefix)


def _daemon(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "engine", "serve"],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_console_hands_over_to_a_daemon_and_takes_over_when_it_stops(postgres_url, tmp_path):
    """Console open (embedded) -> `sadeem engine serve` starts: the console stops its
    engine and the header shows the daemon, which runs a run; the daemon stops: the console
    takes over within a few seconds and a run queued meanwhile succeeds on it."""
    from tui.app import SadeemApp

    settings, svc = _site(tmp_path, postgres_url)
    follower = EmbeddedEngine(svc, poll_interval=0.05)
    app = SadeemApp(svc, ANA, "w", engine=follower, health_every=None)
    daemon = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            await wait_until(pilot, lambda: "engine embedded" in _header(app), TAKEOVER_S)

            daemon = _daemon(settings)
            await wait_until(pilot, lambda: "engine daemon" in _header(app), TAKEOVER_S * 2)
            assert follower.engine is None  # never two runners: the console's is stopped
            daemon_id = svc.engine_state.status().lease_holder
            assert not daemon_id.startswith("console:")
            by_daemon = svc.runs.trigger(ANA, "w", "quick").id
            await _run_succeeds(pilot, svc, by_daemon, daemon_id)

            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
            queued = svc.runs.trigger(ANA, "w", "quick").id  # nobody runs it yet
            stopped_at = time.monotonic()
            await wait_until(pilot, lambda: "engine embedded" in _header(app), TAKEOVER_S)
            assert time.monotonic() - stopped_at < TAKEOVER_S
            await _run_succeeds(pilot, svc, queued, "console:")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
        follower.stop(grace_s=2)
        svc.close()


async def test_console_takes_over_from_a_console_killed_with_9(tmp_path):
    """A console (a child process, run as `sadeem` runs it) holds the lease and is killed
    with -9: the open console waits for that lease to expire, never sooner, then takes over
    and runs the run queued meanwhile."""
    from tui.app import SadeemApp

    settings, svc = _site(tmp_path, None)
    # The child acts as the OS account (as `sadeem` does): a runner there, so not read-only.
    me = Actor(pwd.getpwuid(os.getuid()).pw_name, "test")
    svc.users.register(me)
    svc.workspaces.add_member(ANA, "w", me.username, "runner")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.tui.console_child", "hold", "w"],
        env=_env(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    follower = EmbeddedEngine(svc, poll_interval=0.05)
    app = SadeemApp(svc, ANA, "w", engine=follower, health_every=None)
    try:
        line = child.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("holding console:"), line
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            await wait_until(pilot, lambda: "engine other console" in _header(app), TAKEOVER_S)
            assert follower.engine is None

            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            dead_lease_ends = svc.engine_state.status().lease_expires_at
            queued = svc.runs.trigger(ANA, "w", "quick").id
            killed_at = time.monotonic()
            await wait_until(pilot, lambda: follower.engine is not None, LEASE_S + TAKEOVER_S)
            assert time.monotonic() - killed_at < LEASE_S + TAKEOVER_S
            from engine.models import utcnow

            assert utcnow() >= dead_lease_ends  # not before the dead console's lease ran out
            await wait_until(pilot, lambda: "engine embedded" in _header(app), TAKEOVER_S)
            await _run_succeeds(pilot, svc, queued, "console:")
    finally:
        if child.poll() is None:
            child.kill()
        follower.stop(grace_s=2)
        svc.close()


async def test_header_warns_when_runs_are_queued_and_nobody_runs_them(make_app, services):
    """A read-only console never starts an engine; with a run queued and no engine alive,
    its header says so instead of a bare `engine none`."""
    follower = EmbeddedEngine(services, every_s=0.05)
    services.jobs.create(ANA, "demo", "ping", "sql", {"sql": "SELECT 1"})
    app = make_app(read_only=True, engine=follower, health_every=None)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            assert re.search(r"engine none\s+queue 0", _header(app))  # nothing queued: no alarm
            services.runs.trigger(ANA, "demo", "ping")
            await wait_until(pilot, lambda: "1 queued, nobody runs them" in _header(app))
            assert "engine none · 1 queued, nobody runs them" in _header(app)
            await pilot.pause(0.5)  # ten checks of the lease
            assert follower.engine is None
            assert services.engine_state.status().lease_holder is None
    finally:
        follower.stop(grace_s=2)


# --- quitting while a connection test waits on a server that never answers ---------------


@pytest.fixture
def tarpit() -> Iterator[tuple[int, list[socket.socket]]]:
    """(port, accepted): 127.0.0.1:port accepts every connection and never sends a byte."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)  # kept open, never read from nor written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], held
    finally:
        server.close()
        for conn in held:
            conn.close()
        thread.join(5)


def test_console_quits_without_waiting_for_a_pending_connection_test(tarpit, tmp_path, capsys):
    """`t` on a connection whose server accepts and never answers (its deadline: the
    default 10 s), then ctrl+q: the console process is gone well before that deadline.
    A console that waited would take the ~9.5 s the test still had left; the bound leaves
    a loaded 2-core CI box room for the interpreter's own teardown."""
    port, accepted = tarpit
    data = tmp_path / "data"
    url = f"http://127.0.0.1:{port}"
    code = main(
        [
            "connection",
            "create",
            "pit",
            "--type",
            "iceberg_rest",
            "--set",
            f"uri={url}",
            "--data-dir",
            str(data),
        ]
    )
    assert code == 0, capsys.readouterr().err
    quit_file = tmp_path / "quit"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.tui.console_child",
            "quit-while-testing",
            "pit",
            str(quit_file),
        ],
        env=_env(Settings(data_dir=data)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "testing"  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        # The header's health check and `t` both probe it; wait until one is in flight.
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert accepted, "the connection test never reached the server"
        time.sleep(0.5)
        quit_file.touch()
        asked = time.monotonic()
        code = child.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        if child.poll() is None:
            child.kill()
    assert code == 0, child.stderr.read()  # type: ignore[union-attr]
    assert took < QUIT_BOUND_S, f"the console took {took:.1f} s to quit"
