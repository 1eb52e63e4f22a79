"""sqlglot imports itself in a circle; two threads importing it first at once (the runner's
executor and the console's warm-up) saw a half-initialised module. `load_sqlglot` must make
that safe. Runs in a fresh interpreter, where nothing has imported sqlglot yet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RACE = """
import threading
from engine.sql_analysis import footprint, split_text
barrier = threading.Barrier(2)
errors = []

def runner():  # splits a job's script: sqlglot.tokens first
    barrier.wait()
    try:
        split_text("SELECT 1; SELECT 2")
    except Exception as exc:
        errors.append(repr(exc))

def console():  # checks a query: the sqlglot package first
    barrier.wait()
    try:
        footprint("SELECT * FROM a.b")
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=runner), threading.Thread(target=console)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors or "ok")
"""


def test_first_sqlglot_import_from_two_threads_at_once():
    root = Path(__file__).resolve().parents[2]
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", RACE], capture_output=True, text=True, cwd=root, timeout=60
        )
        assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]
