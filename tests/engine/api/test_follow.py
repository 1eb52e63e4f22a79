"""`sadeem --server unix:... run logs ID --follow`: the engine streams the log as it grows.

README ("Shared site", "CLI"): the lines print as the run writes them, the command ends when
the run does (exit 0 only if it succeeded), and Ctrl-C stops following without touching
the run. One request streams the whole log (the client does not poll the engine)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time

import httpx

from tests.engine.api.conftest import _client_env

# ~1 s of DuckDB work per statement; the executor logs a line before and after each.
SLOW = "SELECT sum(range % 7) AS s FROM range(300000000)"
TERMINAL = {"succeeded", "failed", "timed_out", "cancelled", "skipped"}


def _sadeem(server, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url, *argv],
        env=_client_env(server.base),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _state(server, run_id: int) -> str:
    done = _sadeem(server, "run", "show", str(run_id), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["state"]


def _requests(server, route: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.http}/metrics", timeout=30).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "sadeem_api_requests_total" and s.labels.get("route") == route
    )


def _start(server, workspace: str, statements: int) -> int:
    for argv in (
        ("workspace", "create", workspace),
        ("job", "create", "-w", workspace, "slow", "--type", "sql",
         "--sql", "; ".join([SLOW] * statements)),
    ):  # fmt: skip
        done = _sadeem(server, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    done = _sadeem(server, "job", "run", "-w", workspace, "slow", "--json")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["id"])


def _follow(server, run_id: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--server", server.url,
         "run", "logs", str(run_id), "--follow"],
        env=_client_env(server.base), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _read_lines(proc: subprocess.Popen, until: float):
    """(arrival time, line) of each line the client prints, as it prints it."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buffer = b""
    while time.monotonic() < until:
        if not sel.select(timeout=0.2):
            if proc.poll() is not None:
                break
            continue
        data = proc.stdout.read() or b""
        if not data and proc.poll() is not None:
            break
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield time.monotonic(), line.decode()
    if buffer:
        yield time.monotonic(), buffer.decode()


def test_follow_streams_lines_while_the_run_grows(server):
    run_id = _start(server, "follow_ws", statements=4)
    polls_before = _requests(server, "runs.logs")
    streams_before = _requests(server, "runs.follow")
    proc = _follow(server, run_id)
    seen: list[tuple[float, str, str]] = []  # (arrival, line, the run's state just after)
    try:
        for at, line in _read_lines(proc, time.monotonic() + 180):
            # The run's state as soon as the line is here (for the first few: enough).
            state = _state(server, run_id) if len(seen) < 3 else "?"
            seen.append((at, line, state))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0, err
    assert f"run {run_id}: succeeded" in err
    lines = [line for _, line, _ in seen]
    # The first lines reached the terminal while the run was still going.
    assert seen and seen[0][2] not in TERMINAL, seen[:3]
    # Lines came over seconds, not in one lump at the end.
    assert seen[-1][0] - seen[0][0] >= 1.0, [(round(a, 2), line) for a, line, _ in seen]
    # Nothing lost or repeated: the same text as the whole log read afterwards.
    done = _sadeem(server, "run", "logs", str(run_id))
    assert done.returncode == 0, done.stderr
    assert lines == done.stdout.rstrip("\n").split("\n")
    assert sum("done:" in line for line in lines) == 4
    # One streamed request, no polling of runs.logs by the client.
    assert _requests(server, "runs.follow") == streams_before + 1
    assert _requests(server, "runs.logs") == polls_before + 1  # the `run logs` just above


def test_ctrl_c_stops_following_and_leaves_the_run_alone(server):
    run_id = _start(server, "follow_int", statements=8)
    proc = _follow(server, run_id)
    try:
        first = next(_read_lines(proc, time.monotonic() + 120), None)
        assert first is not None, "no line before the deadline"
        assert proc.poll() is None  # still following a running run
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 130, err  # README, "CLI": interrupted
    assert "Traceback" not in err and "stopped following" in err
    assert _state(server, run_id) == "running"  # the run goes on
    done = _sadeem(server, "run", "cancel", str(run_id))
    assert done.returncode == 0, done.stderr


def test_follow_of_a_run_you_cannot_see_is_refused_up_front(server):
    done = _sadeem(server, "run", "logs", "987654", "--follow")
    assert done.returncode == 3, done.stderr  # README, "CLI": not found
    assert "987654" in done.stderr
