"""Live logs while work runs (issue 14, "Silent live logs"; README "Jobs, schedules and
runs"): a log line reaches the database within half a second whether or not another line
follows, so `run logs --follow` shows the statement that runs now, not the one before; a
long statement writes progress lines (DuckDB's query_progress(), Trino's stats) while it
runs; and a line that is cut says so (`…[cut, N chars]`), never silently."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

from engine.runner.context import MAX_LINE, LogWriter
from tests.engine.runner.conftest import until, wait_for
from tests.fakes.trino_server import FakeTrino

# DuckDB work that returns no row before it ends (an aggregate) and would take hours: the
# tests watch it for a few seconds, then cancel the run.
SLOW = (
    "SELECT count(*) AS n FROM range(3000000000) a, range(1000) b WHERE (a.range * b.range) % 7 = 1"
)


def test_a_lone_line_is_written_without_waiting_for_the_next():
    chunks: list[tuple[float, str]] = []
    writer = LogWriter(lambda text: chunks.append((time.monotonic(), text)), interval=0.3)
    writer("first")  # the writer was just made: this one waits for the interval
    start = time.monotonic()
    until(lambda: bool(chunks), timeout=2)
    assert chunks[0][1].endswith(" first\n")
    assert chunks[0][0] - start < 1.0
    writer.flush()
    assert len(chunks) == 1  # written once, not again by the flush at the end


def test_a_long_line_is_marked_as_cut_and_chunks_stay_small():
    chunks: list[str] = []
    writer = LogWriter(chunks.append, interval=60)
    writer("x" * (MAX_LINE + 340))
    for i in range(20):
        writer(f"{i:02d} " + "y" * 8000)
    writer.flush()
    text = "".join(chunks)
    assert f"x…[cut, {MAX_LINE + 340} chars]\n" in text
    assert "x" * (MAX_LINE + 1) not in text
    assert all(len(c) <= 64 * 1024 for c in chunks)  # the service's cap, which would cut
    assert [int(m) for m in re.findall(r" (\d\d) y", text)] == list(range(20))


def log_text(services, admin, run_id: int) -> str:
    return "".join(c.text for c in services.runs.logs(admin, run_id, limit=100_000))


def test_progress_lines_while_a_slow_duckdb_statement_runs(lake, admin, engines, monkeypatch):
    import engine.runner.sql_executor as executor

    monkeypatch.setattr(executor, "PROGRESS_EVERY_S", 0.5)  # the default is 2 s
    # Longer than the log line shows, and its end matters: cut silently, `LIMIT 10` read
    # as `LIMIT 1`.
    numbers = ", ".join(str(i) for i in range(60))
    long_select = f"SELECT range AS n FROM range(100)\nWHERE range IN ({numbers})\nLIMIT 10"
    lake.jobs.create(admin, "w", "slow", "sql", {"sql": f"{long_select}; {SLOW}"})
    run = lake.runs.trigger(admin, "w", "slow")
    engines()
    # While the slow statement runs: its header, then progress lines with a percentage.
    until(
        lambda: len(re.findall(r"RUNNING \d+% ", log_text(lake, admin, run.id))) >= 2,
        timeout=30,
        why=lambda: log_text(lake, admin, run.id),
    )
    assert lake.runs.get(admin, run.id).state == "running"
    lake.runs.cancel(admin, run.id)
    assert wait_for(lake, admin, run.id).state == "cancelled"
    text = log_text(lake, admin, run.id)
    assert text.index("[2/2]") < text.index("RUNNING") < text.index("stopped (cancel)")
    header = next(line for line in text.splitlines() if "[1/2]" in line)
    # The statement is longer than the log shows: the line says so, with its length.
    flat = " ".join(long_select.split())
    assert header.endswith(f"…[cut, {len(flat)} chars]")
    assert flat.startswith(header.split("[1/2] ", 1)[1].split("…[cut")[0])


def test_follow_shows_the_statement_that_runs_now(tmp_path):
    """`sadeem run logs --follow` in its own process prints the slow statement's line while
    it runs, ~2 s before its first progress line, not with it (the line used to wait in
    the buffer for the next one)."""
    from engine.cli.main import main
    from engine.context import Actor, os_username
    from engine.runner.engine import Engine
    from engine.settings import Settings
    from engine.wiring import open_services

    d = ["--data-dir", str(tmp_path)]
    assert main(["workspace", "create", "w", *d]) == 0
    assert main(["workspace", "provision", "w", "--apply", *d]) == 0
    assert (
        main(
            ["job", "create", "-w", "w", "slow", "--type", "sql", "--sql", f"SELECT 1; {SLOW}", *d]
        )
        == 0
    )
    assert main(["job", "run", "-w", "w", "slow", *d]) == 0  # run 1, queued: no engine yet
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    follower = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", "logs", "1", "--follow", *d],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[tuple[float, str]] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            seen.append((time.monotonic(), line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    svc = open_services(Settings(data_dir=tmp_path), migrate=False)
    admin = Actor(os_username(), "cli")
    engine = None
    try:
        # A line of our own: once the follower prints it, it is up and polling.
        svc.queue.append_log(1, "waiting for an engine\n")
        until(lambda: bool(seen) or follower.poll() is not None, timeout=30)
        engine = Engine(svc, poll_interval=0.05).start()
        until(lambda: any("RUNNING" in line for _t, line in seen), timeout=30)
        svc.runs.cancel(admin, 1)
        assert follower.wait(timeout=30) == 1  # the run did not succeed
        reader.join(timeout=5)
    finally:
        if engine is not None:
            engine.stop(grace_s=2)
        follower.kill()
        svc.close()
    lines = [line for _t, line in seen]
    header = next(t for t, line in seen if "[2/2]" in line)
    progress = next(t for t, line in seen if "RUNNING" in line)
    finished = next(t for t, line in seen if "finished: cancelled" in line)
    assert header < progress < finished, lines
    # In step: the header came when the statement started, well before the progress
    # line written 2 s into it (they came together in one chunk when the log lagged).
    assert progress - header > 1.0, lines


def test_trino_stats_become_progress_lines(lake, admin, engines):
    fake = FakeTrino().start()
    try:
        lake.connections.create(admin, "trino", "trino", {"host": "127.0.0.1", "port": fake.port})
        lake.jobs.create(admin, "w", "wait", "sql", {"sql": "SELECT sleep(3)"}, connection="trino")
        run = lake.runs.trigger(admin, "w", "wait")
        engines()
        done = wait_for(lake, admin, run.id)
        assert done.state == "succeeded", done.error
        text = log_text(lake, admin, run.id)
        # The fake reports progressPercentage from its elapsed time: a partial figure.
        figures = [int(p) for p in re.findall(r"RUNNING (\d+)% ", text)]
        assert figures and all(0 <= p <= 100 for p in figures), text
        assert any(p < 100 for p in figures), text
    finally:
        fake.stop()


def test_a_chunk_over_the_cap_is_marked_as_cut(lake, admin):
    run = lake.runs.trigger(
        admin, "w", lake.jobs.create(admin, "w", "j", "sql", {"sql": "SELECT 1"}).name
    )
    lake.queue.append_log(run.id, "z" * 70_000 + "LIMIT 10\n")
    (chunk,) = lake.runs.logs(admin, run.id)
    assert chunk.text.endswith("…[cut, 70009 chars]\n")
    assert len(chunk.text) <= 64 * 1024
