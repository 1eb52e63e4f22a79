"""The job/run/engine CLI, and `sadeem engine serve` as a real process that stops
gracefully on SIGTERM (JSON log lines, lease released)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from engine.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_job_and_run_verbs(tmp_path, capsys):
    d = ("--data-dir", str(tmp_path))
    run(capsys, "workspace", "create", "w", *d)
    run(capsys, "workspace", "provision", "w", "--apply", *d)
    code, out, err = run(
        capsys,
        "job",
        "create",
        "-w",
        "w",
        "t",
        "--type",
        "sql",
        "--sql",
        "SELECT {{ params.n }} AS n",
        "--param",
        "n:int=3",
        "--json",
        *d,
    )
    assert code == 0 and json.loads(out)["definition"]["params"] == {"n": "3"}
    code, out, err = run(capsys, "job", "run", "-w", "w", "t", "--param", "n=5", "--wait", *d)
    assert code == 0 and "finished: succeeded" in out
    code, out, err = run(
        capsys,
        "job",
        "create",
        "-w",
        "w",
        "bad",
        "--type",
        "sql",
        "--sql",
        "SELECT * FROM w_gold.none",
        *d,
    )
    code, out, err = run(capsys, "job", "run", "-w", "w", "bad", "--wait", *d)
    assert code == 1 and "failed" in err
    code, out, _ = run(capsys, "run", "list", "-w", "w", "--json", *d)
    runs = json.loads(out)
    assert [r["state"] for r in runs] == ["failed", "succeeded"]
    code, out, _ = run(capsys, "run", "logs", str(runs[1]["id"]), *d)
    assert "[1/1] SELECT 5 AS n" in out
    code, out, _ = run(capsys, "run", "retry", str(runs[0]["id"]), "--json", *d)
    assert json.loads(out)["attempt"] == 2
    code, out, err = run(capsys, "run", "retry", str(runs[1]["id"]), *d)
    assert code == 5 and "only failed" in err
    code, out, err = run(capsys, "job", "edit", "-w", "w", "t", "--cron", "61 * * * *", *d)
    assert code == 2 and "cron" in err


def test_engine_serve_stops_gracefully_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "SADEEM_DATA_DIR": str(tmp_path),
        "SADEEM_LOG_FORMAT": "json",
        "SADEEM_HEARTBEAT_SECONDS": "0.2",
    }
    main(["db", "upgrade", "--data-dir", str(tmp_path)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "engine", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            out = subprocess.run(
                [sys.executable, "-m", "engine.cli.main", "engine", "status", "--json"],
                env=env,
                capture_output=True,
                text=True,
            )
            status = json.loads(out.stdout)
            if status["lease_holder"]:
                break
            time.sleep(0.2)
        assert status["lease_holder"] and status["engines"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [json.loads(line) for line in proc.stderr.read().splitlines() if line.strip()]
    messages = [e["msg"] for e in events]
    assert "engine started" in messages and "engine stopped" in messages
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "engine", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    after = json.loads(out.stdout)
    assert after["lease_holder"] is None and after["engines"] == []
