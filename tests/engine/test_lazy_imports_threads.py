"""Libraries that import themselves in a circle (sqlglot; requests under trino): threads
importing one first at once saw a half-initialised module (the runner's executor and the
console's warm-up for sqlglot; six Trino runs starting together in the crash test).
`import_once` must make that safe. Each race runs in a fresh interpreter, where nothing has
imported the library yet."""

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


CLIENTS_RACE = """
import threading
from engine.backends.base import QueryContext
from engine.backends.iceberg import IcebergCatalog
from engine.backends.spark_operator import SparkOperatorBackend
from engine.backends.trino import TrinoBackend
barrier = threading.Barrier(6)
errors = []

def trino():  # an executor starting a Trino run; nothing listens on port 9
    TrinoBackend("127.0.0.1", 9).execute("SELECT 1", QueryContext(user="x")).fetch()

def spark():  # an executor submitting a SparkApplication
    SparkOperatorBackend("jobs", api_server="http://127.0.0.1:9").test()

def catalog():  # a health check of a REST catalog
    IcebergCatalog.rest("http://127.0.0.1:9").pyiceberg_catalog()

def run(fn):
    barrier.wait()
    try:
        fn()
    except ImportError as exc:
        errors.append(repr(exc))
    except Exception:
        pass  # refused: expected

threads = [threading.Thread(target=run, args=(f,)) for f in (trino, spark, catalog) * 2]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors or "ok")
"""


def race(script: str) -> None:
    root = Path(__file__).resolve().parents[2]
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=60
        )
        assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]


def test_first_sqlglot_import_from_two_threads_at_once():
    race(RACE)


def test_first_client_imports_from_six_threads_at_once():
    race(CLIENTS_RACE)
